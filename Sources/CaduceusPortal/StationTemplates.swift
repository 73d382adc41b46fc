/// The admin and card stations' templates (same conventions as ``PortalTemplates``: `{{x}}` escapes, no script).
enum StationTemplates {
    static let templates: [(String, String)] = [
        ("admin", admin), ("staff", staff), ("staffEdit", staffEdit), ("codes", codes), ("codeTable", codeTable),
        ("cards", cards), ("cardFace", cardFace), ("cardToken", cardToken),
    ]

    static let admin = """
    <div class="console">
    <section class="card" aria-labelledby="org-title">
      <h2 id="org-title">Organisation</h2>
      <dl class="facts compact"><div><dt>Organisation</dt><dd>{{organization}}</dd></div><div><dt>Node roles</dt><dd>{{roles}}</dd></div>
      <div><dt>Endpoint</dt><dd>{{endpoint}}</dd></div><div><dt>Region</dt><dd>{{region}}</dd></div><div><dt>HL7 messages logged</dt><dd>{{messages}}</dd></div></dl>
    </section>
    <section class="card" aria-labelledby="dept-title">
      <h2 id="dept-title">Departments and facilities</h2>
      {{#hasDepartments}}<ul class="plain">{{#departments}}<li>{{name}} <span class="muted">{{staff}} active staff</span></li>{{/departments}}</ul>{{/hasDepartments}}
      {{^hasDepartments}}<p class="empty">No department yet: import the HR export under Personnel.</p>{{/hasDepartments}}
      {{#hasFacilities}}<p class="muted">Facilities: {{#facilities}}<span class="badge">{{code}} · {{display}}</span> {{/facilities}}</p>{{/hasFacilities}}
      {{^hasFacilities}}<p class="muted">No facility table saved (<a href="/portal/admin/codes/facility">set the facilities</a>).</p>{{/hasFacilities}}
      {{#hasCards}}<p class="muted">Cards: {{#cards}}<span class="badge">{{status}} {{count}}</span> {{/cards}}</p>{{/hasCards}}
    </section>
    </div>
    <h2>Nodes of the federation</h2>
    {{#directoryDown}}<p class="notice">The directory did not answer: the node list is not available just now.</p>{{/directoryDown}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Node</th><th scope="col">Roles</th><th scope="col">Region</th><th scope="col">Endpoint</th><th scope="col">Certificate expires</th><th scope="col">Health</th></tr></thead>
    <tbody>{{#nodes}}<tr><td><strong>{{id}}</strong></td><td>{{roles}}</td><td>{{region}}</td><td><code>{{endpoint}}</code></td>
    <td>{{#expires}}{{text}} <span class="{{#warn}}refused{{/warn}}{{^warn}}muted{{/warn}}">{{days}}</span>{{/expires}}</td>
    <td>{{#up}}<span class="status-ok">● {{health}}</span>{{/up}}{{^up}}<span class="refused">● {{health}}</span>{{/up}}</td></tr>{{/nodes}}</tbody></table></div>
    <h2>Certificates</h2>
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">What</th><th scope="col">Subject</th><th scope="col">Serial</th><th scope="col">Expires</th></tr></thead>
    <tbody>{{#certificates}}<tr><td>{{label}}</td><td>{{subject}}</td><td><code>{{serial}}</code></td><td class="nowrap">{{#expires}}{{text}} <span class="{{#warn}}refused{{/warn}}{{^warn}}muted{{/warn}}">{{days}}</span>{{/expires}}</td></tr>{{/certificates}}</tbody></table></div>
    """

    static let staff = """
    {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
    <p class="lead">The hospital's personnel registry: {{count}} active. Cards are enrolled from here at the card station.</p>
    {{#hasRows}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Employee ID</th><th scope="col">Name</th><th scope="col">Department</th><th scope="col">Roles</th><th scope="col">E-mail</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Edit</span></th></tr></thead>
    <tbody>{{#rows}}<tr><td><code>{{id}}</code></td><td>{{name}}</td><td>{{department}}</td><td>{{roles}}</td><td>{{email}}</td>
    <td>{{#active}}<span class="status-ok">active</span>{{/active}}{{^active}}<span class="muted">ended</span>{{/active}}<br><span class="muted">{{source}}, {{updated}}</span></td>
    <td><form method="post" action="/portal/admin/staff/edit" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="member" value="{{handle}}"><button type="submit">Edit</button></form></td></tr>{{/rows}}</tbody></table></div>
    {{/hasRows}}
    {{^hasRows}}<p class="empty">The registry is empty.</p>{{/hasRows}}
    <form method="post" action="/portal/admin/staff/import" class="card">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <h2>Import the HR export</h2>
      <label for="csv">CSV with a header row (Employee ID, Last Name, First Name, Department, Role, Email, Status)</label>
      <textarea id="csv" name="csv" rows="5" spellcheck="false"></textarea>
      <button type="submit" class="primary">Import</button>
      <p class="muted">The whole file is checked before anything is kept; a row marked Terminated revokes that person's cards.</p>
    </form>
    """

    static let staffEdit = """
    <p><a href="/portal/admin/staff">← Personnel</a></p>
    <form method="post" action="/portal/admin/staff/save" class="card search-form">
      <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="member" value="{{member}}">
      <p class="lead">Employee <code>{{id}}</code></p>
      <div class="fields">
        <div><label for="family">Family name</label><input id="family" name="family" value="{{family}}" required></div>
        <div><label for="given">Given name</label><input id="given" name="given" value="{{given}}"></div>
        <div><label for="department">Department</label><input id="department" name="department" value="{{department}}"></div>
        <div><label for="roles">Roles (separated by ;)</label><input id="roles" name="roles" value="{{roles}}" required></div>
        <div><label for="email">E-mail</label><input id="email" name="email" type="email" value="{{email}}"></div>
        <div><label for="active">Affiliation</label><select id="active" name="active"><option value="yes"{{#active}} selected{{/active}}>active</option><option value="no"{{^active}} selected{{/active}}>ended (revokes every card)</option></select></div>
      </div>
      <button type="submit" class="primary">Save</button>
    </form>
    """

    static let codes = """
    <p class="lead">The code tables this node validates incoming data with. Each save is a new version, audited, in force from the next message.</p>
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Table</th><th scope="col">Used for</th><th scope="col">In force</th><th scope="col">Codes</th><th scope="col">Last change</th></tr></thead>
    <tbody>{{#tables}}<tr><td><a href="/portal/admin/codes/{{name}}">{{label}}</a></td><td>{{purpose}}</td><td>{{#set}}<span class="status-ok">{{version}}</span>{{/set}}{{^set}}<span class="muted">{{version}}</span>{{/set}}</td><td>{{count}}</td><td>{{changed}}</td></tr>{{/tables}}</tbody></table></div>
    """

    static let codeTable = """
    <p><a href="/portal/admin/codes">← Code tables</a></p>
    {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
    <p class="lead">{{purpose}}. {{version}}</p>
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Code</th><th scope="col">Display</th><th scope="col">System</th></tr></thead>
    <tbody>{{#entries}}<tr><td><code>{{code}}</code></td><td>{{display}}</td><td class="muted">{{system}}</td></tr>{{/entries}}</tbody></table></div>
    <form method="post" action="/portal/admin/codes/{{name}}" class="card">
      <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="base" value="{{base}}">
      <h2>Save a new version</h2>
      <label for="entries">One code a line: code | display | system</label>
      <textarea id="entries" name="entries" rows="8" spellcheck="false" class="mono">{{text}}</textarea>
      <label for="note">Reason for the change (kept with the version)</label>
      <input id="note" name="note" required minlength="3" maxlength="500" class="wide">
      <p><button type="submit" class="primary">Save as a new version</button></p>
    </form>
    {{#hasHistory}}
    <h2>Versions</h2>
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Version</th><th scope="col">Saved</th><th scope="col">By</th><th scope="col">Codes</th><th scope="col">Note</th></tr></thead>
    <tbody>{{#history}}<tr><td>{{version}}</td><td class="nowrap">{{when}}</td><td>{{by}}</td><td>{{count}}</td><td>{{note}}</td></tr>{{/history}}</tbody></table></div>
    {{/hasHistory}}
    """

    static let cards = """
    {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
    {{#issued}}
    <section class="card issued-card" aria-labelledby="issued-title">
      <h2 id="issued-title">Card issued for {{holder}}</h2>
      <p>One-time password of the PKCS#12 file, shown only on this page. Hand it to the holder separately from the file:</p>
      <p class="otp"><code>{{password}}</code></p>
      <form method="post" action="/portal/cards/download" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="download" value="{{download}}">
        <button type="submit" class="primary">Download {{file}} (once)</button>
      </form>
      <p class="muted">The node keeps neither the key nor the password.</p>
    </section>
    {{/issued}}
    {{#written}}
    <section class="card issued-card" aria-labelledby="written-title">
      <h2 id="written-title">Card written to token “{{token}}” for {{holder}}</h2>
      <dl class="facts compact"><div><dt>Token</dt><dd>{{token}}</dd></div><div><dt>Key id</dt><dd><code>{{keyId}}</code></dd></div>
      <div><dt>Certificate serial</dt><dd><code>{{serial}}</code></dd></div><div><dt>Expires</dt><dd>{{expires}}</dd></div></dl>
      <p class="muted">The key was generated on the token and cannot leave it; the certificate and its chain are stored beside it ({{stored}} written). The node kept neither the PIN nor any key.</p>
    </section>
    {{/written}}
    {{#unstored}}
    <section class="card unstored-card" role="alert" aria-labelledby="unstored-title">
      <h2 id="unstored-title">Issued, but not written to the token</h2>
      <p>{{holder}}'s card was issued (serial <code>{{serial}}</code>, expires {{expires}}), but its certificate could not be written to token “{{token}}” (<code>{{code}}</code>). The card stays issued.</p>
      <p>To finish: download the certificate and its chain, then store them beside the key with
      <code>caduceus token import-cert --module {{module}} --label "{{token}}" --pin-file PIN-FILE --id 01 --cert {{file}}</code>
      (<code>caduceus token list</code> shows the key under id 01). If the key is not there or the token cannot be used, report the card lost: that revokes it and enrols a replacement.</p>
      <form method="post" action="/portal/cards/download" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="download" value="{{download}}">
        <button type="submit" class="primary">Download {{file}} (once)</button>
      </form>
    </section>
    {{/unstored}}
    <p class="lead">This hospital's cards. {{#counts}}<span class="badge">{{status}} {{count}}</span> {{/counts}}</p>
    {{#encoder}}<p class="muted">A card encoder is attached to this node: an approved card can be issued onto a token.</p>{{/encoder}}
    {{^encoder}}<p class="muted">No card encoder attached to this node: cards are issued as PKCS#12 files under a one-time password.</p>{{/encoder}}
    {{#hasRows}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Holder</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Serial</th><th scope="col">Expires</th><th scope="col">Enrolled</th><th scope="col">Actions</th></tr></thead>
    <tbody>{{#rows}}<tr><td>{{holder}}</td><td>{{role}}</td><td><span class="status status-{{status}}">{{status}}</span></td><td><code>{{serial}}</code></td><td class="nowrap">{{expires}}</td><td class="muted">{{enrolled}}</td>
    <td class="actions">{{#moves}}<form method="post" action="/portal/cards/action" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="card" value="{{handle}}"><input type="hidden" name="action" value="{{action}}"><button type="submit" class="{{style}} small">{{label}}</button></form> {{/moves}}
    {{#toToken}}<a href="/portal/cards/token/{{handle}}" class="button-secondary small">Issue to token</a>{{/toToken}}
    {{#printable}}<a href="/portal/cards/face/{{handle}}" class="button-secondary small">Card face</a>{{/printable}}</td></tr>{{/rows}}</tbody></table></div>
    {{/hasRows}}
    {{^hasRows}}<p class="empty">No card yet.</p>{{/hasRows}}
    <form method="post" action="/portal/cards/enroll" class="card search-form">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <h2>Enrol a staff card</h2>
      {{#hasPeople}}
      <div class="fields"><div><label for="person">Staff member and role (from the personnel registry)</label>
      <select id="person" name="person">{{#people}}<option value="{{handle}}">{{label}}</option>{{/people}}</select></div></div>
      <button type="submit" class="primary">Enrol</button>
      <p class="muted">A second officer approves the enrolment before the card is issued.</p>
      {{/hasPeople}}
      {{^hasPeople}}<p class="empty">The personnel registry has no active staff member (the admin station imports it).</p>{{/hasPeople}}
    </form>
    """

    static let cardToken = """
    <p><a href="/portal/cards">← Card station</a></p>
    {{#error}}<p class="notice token-error" role="alert">{{message}} (<code>{{code}}</code>). Nothing was issued: the card is still approved.</p>{{/error}}
    <section class="card narrow" aria-labelledby="token-title">
      <h2 id="token-title">Issue {{holder}}'s card onto a token</h2>
      <p class="muted">{{role}}, approved. The key is generated on the token and never leaves it; the certificate is stored beside it.</p>
      {{#listError}}<p class="notice" role="alert">The card encoder could not list its tokens: {{message}} (<code>{{code}}</code>).</p>{{/listError}}
      {{#hasTokens}}
      <form method="post" action="/portal/cards/token" class="search-form">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="card" value="{{handle}}">
        <div class="fields">
          <div><label for="token">Blank token in the card encoder</label>
          <select id="token" name="token">{{#tokens}}<option value="{{label}}">{{label}}{{#model}} — {{model}}{{/model}}{{#serial}}, serial {{serial}}{{/serial}}</option>{{/tokens}}</select></div>
          <div><label for="pin">The token's user PIN</label><input id="pin" name="pin" type="password" autocomplete="off" required maxlength="64"></div>
        </div>
        <button type="submit" class="primary">Generate the key and issue onto the token</button>
        <p class="muted">The PIN is used for this request only: the node keeps it nowhere and logs it nowhere.</p>
      </form>
      {{/hasTokens}}
      {{^hasTokens}}{{^listError}}<p class="empty">No blank token in the card encoder: insert an initialised token with a user PIN and nothing under key id 01, then reload this page.</p>{{/listError}}{{/hasTokens}}
    </section>
    """

    static let cardFace = """
    <p><a href="/portal/cards">← Card station</a></p>
    <div class="card-face" aria-label="Card face preview">
      <div class="card-band"><strong>CADUCEUS</strong><span>{{org}}</span></div>
      <div class="card-body">
        <div class="card-photo" aria-hidden="true">PHOTO</div>
        <div><p class="card-name">{{name}}</p><p>{{role}}</p>
        <p class="card-label">Card number</p><p class="card-value">{{number}}</p>
        <p class="card-label">Valid until</p><p class="card-value">{{expires}}</p></div>
      </div>
      <p class="card-issuer">Issued by {{issuer}}</p>
    </div>
    <p><a href="/portal/cards/face/{{handle}}/card.pdf" class="button-secondary">Open the printable PDF (ID-1, 85.60 × 53.98 mm)</a></p>
    """

    static let css = """
    dl.facts.compact { border:none; padding:0; grid-template-columns:repeat(auto-fit, minmax(10rem, 1fr)); }
    ul.plain { list-style:none; padding:0; margin:0 0 .5rem; } ul.plain li { padding:.2rem 0; border-bottom:1px solid var(--line); }
    textarea.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size:.9rem; }
    input.wide { width:100%; margin:.35rem 0 .5rem; }
    button.small, .button-secondary.small { padding:.2rem .6rem; font-size:.85rem; }
    td.actions form { margin:0 .2rem .2rem 0; display:inline-block; }
    span.refused { color:var(--danger); font-weight:600; }
    .status { font-size:.8rem; padding:.1rem .5rem; border-radius:4px; background:#e7eef3; }
    .status-issued { background:#e3f4e8; color:var(--ok); } .status-requested, .status-approved { background:#fff4e5; }
    .status-blocked, .status-lost, .status-terminated, .status-rejected { background:var(--danger-bg); color:var(--danger); }
    .issued-card { border-left:6px solid var(--ok); margin-bottom:1rem; }
    .unstored-card { border-left:6px solid var(--danger); margin-bottom:1rem; }
    .token-error { border-color:var(--danger); }
    .otp code { font-size:1.4rem; letter-spacing:.08em; background:#f4f6f8; padding:.3rem .6rem; border-radius:6px; }
    .card-face { width:342px; height:216px; border-radius:14px; border:1px solid var(--line); background:#fff; overflow:hidden; box-shadow:0 2px 8px rgba(16,24,40,.12); margin:1rem 0; position:relative; }
    .card-band { background:var(--brand); color:#fff; padding:.5rem .9rem; display:flex; flex-direction:column; line-height:1.2; }
    .card-band span { font-size:.75rem; opacity:.9; }
    .card-body { display:flex; gap:.9rem; padding:.6rem .9rem; }
    .card-body p { margin:0; font-size:.8rem; }
    .card-photo { width:78px; height:100px; background:#eef2f5; border:1px solid #b8c4cf; display:flex; align-items:center; justify-content:center; color:#8a97a4; font-size:.7rem; font-weight:700; }
    .card-name { font-weight:700; font-size:1rem !important; }
    .card-label { color:var(--muted); font-size:.65rem !important; margin-top:.35rem !important; text-transform:uppercase; }
    .card-value { font-weight:700; }
    .card-issuer { position:absolute; bottom:.3rem; left:.9rem; margin:0; font-size:.6rem; color:var(--muted); }
    @media print { header.top, nav.stations, .foot, main > p { display:none; } .card-face { box-shadow:none; } }
    """
}
