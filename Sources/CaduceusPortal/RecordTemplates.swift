/// The templates of the admin station's patients section, the medical station's transfers and the DICOM view (same
/// conventions as ``PortalTemplates``: `{{x}}` escapes, no script, every form with its token and labelled fields).
enum RecordTemplates {
    static let templates: [(String, String)] = [
        ("adminPatients", adminPatients), ("adminPatient", adminPatient), ("adminMatches", adminMatches), ("transfers", transfers),
        ("transferRegister", transferRegister),
    ]

    static let adminPatients = """
    <p class="lead">The patients this hospital's registry holds, with their demographics as the HL7 feeds left them. <a href="/portal/admin/matches">Possible matches to review →</a></p>
    <form method="post" action="/portal/admin/patients/search" class="card search-form">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <div class="fields">
        <div><label for="family">Family name</label><input id="family" name="family" autocomplete="off"></div>
        <div><label for="given">Given name</label><input id="given" name="given" autocomplete="off"></div>
        <div><label for="birth">Birth date</label><input id="birth" name="birth" placeholder="YYYYMMDD" inputmode="numeric" autocomplete="off"></div>
        <div><label for="sex">Sex</label><select id="sex" name="sex"><option value="">any</option><option value="F">female</option><option value="M">male</option><option value="O">other</option><option value="U">unknown</option></select></div>
        <div><label for="localId">Hospital patient id</label><input id="localId" name="localId" autocomplete="off"></div>
      </div>
      <button type="submit" class="primary">Search this hospital</button>
    </form>
    {{#searched}}
    {{#hasMatches}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Name</th><th scope="col">Born</th><th scope="col">Sex</th><th scope="col">Patient id</th><th scope="col"><span class="sr-only">Open</span></th></tr></thead>
    <tbody>{{#matches}}<tr><td>{{name}}</td><td>{{born}}</td><td>{{sex}}</td><td><code>{{id}}</code> <span class="muted">{{authority}}</span></td><td>
      <form method="post" action="/portal/admin/patients/open" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="patient" value="{{handle}}"><button type="submit">Open</button></form>
    </td></tr>{{/matches}}</tbody></table></div>
    {{#truncated}}<p class="muted">More patients may match: narrow the search.</p>{{/truncated}}
    {{/hasMatches}}
    {{^matches}}<p class="empty">No patient of this hospital matches.</p>{{/matches}}
    {{/searched}}
    """

    static let adminPatient = """
    <p><a href="/portal/admin/patients">← Patients</a></p>
    <dl class="facts">{{#facts}}<div><dt>{{label}}</dt><dd>{{value}}</dd></div>{{/facts}}</dl>
    <div class="console">
    <section class="card" aria-labelledby="ids-title">
      <h2 id="ids-title">Identifiers at this hospital</h2>
      <ul class="plain">{{#identifiers}}<li><code>{{id}}</code> <span class="muted">{{authority}}</span>{{#key}} <span class="badge">registry key</span>{{/key}}</li>{{/identifiers}}</ul>
      {{#otherNames}}<p class="muted">Other names: {{otherNames}}</p>{{/otherNames}}
      <p class="muted">Last changed by HL7 message <code>{{lastMessage}}</code>.</p>
    </section>
    <section class="card" aria-labelledby="mpi-title">
      <h2 id="mpi-title">Regional MPI</h2>
      {{#hasLinks}}
      <p>Global patient id <strong><code>{{globalId}}</code></strong><br><span class="muted wrap">in {{globalAuthority}}</span></p>
      <table><thead><tr><th scope="col">Linked identity</th><th scope="col">Assigning authority</th></tr></thead>
      <tbody>{{#links}}<tr><td><code>{{id}}</code>{{#here}} <span class="badge">this record</span>{{/here}}</td><td>{{authority}}</td></tr>{{/links}}</tbody></table>
      {{/hasLinks}}
      {{^hasLinks}}<p class="notice">The regional MPI did not give this patient's links (<code>{{linksUnavailable}}</code>).</p>{{/hasLinks}}
    </section>
    </div>
    <div class="console">
    <section class="card" aria-labelledby="contacts-title">
      <h2 id="contacts-title">Emergency contacts</h2>
      {{#hasContacts}}<table><thead><tr><th scope="col">Name</th><th scope="col">Relationship</th><th scope="col">Phone</th></tr></thead>
      <tbody>{{#contacts}}<tr><td>{{name}}</td><td>{{relationship}}</td><td>{{phone}}</td></tr>{{/contacts}}</tbody></table>{{/hasContacts}}
      {{^hasContacts}}<p class="empty">None on file (NK1).</p>{{/hasContacts}}
    </section>
    <section class="card" aria-labelledby="insurance-title">
      <h2 id="insurance-title">Insurance</h2>
      {{#hasInsurance}}<table><thead><tr><th scope="col">Company</th><th scope="col">Plan</th><th scope="col">Policy</th><th scope="col">Group</th></tr></thead>
      <tbody>{{#insurance}}<tr><td>{{company}}</td><td>{{plan}}</td><td><code>{{policy}}</code></td><td>{{group}}</td></tr>{{/insurance}}</tbody></table>{{/hasInsurance}}
      {{^hasInsurance}}<p class="empty">None on file (IN1).</p>{{/hasInsurance}}
    </section>
    </div>
    {{#hasHistory}}
    <h2>MPI history of this record</h2>
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Change</th><th scope="col">From global id</th><th scope="col">To global id</th><th scope="col">By</th></tr></thead>
    <tbody>{{#history}}<tr><td>{{action}}</td><td><code>{{from}}</code></td><td><code>{{to}}</code></td><td>{{actor}}</td></tr>{{/history}}</tbody></table></div>
    {{/hasHistory}}
    """

    static let adminMatches = """
    {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
    <p class="lead">Possible matches the regional MPI found for this hospital's patients and would not link on its own: {{count}} to review. Accept when both records are the same person; reject when they are not (they will not be proposed again).</p>
    {{#hasItems}}
    {{#items}}
    <section class="card match" aria-label="Possible match">
      <div class="match-head"><strong>Match weight {{weight}}</strong> <span class="muted">{{reason}}</span></div>
      <div class="match-sides">
        {{#record}}<dl class="facts compact"><div><dt>Registered record</dt><dd>{{name}}</dd></div><div><dt>Born</dt><dd>{{born}}</dd></div><div><dt>Sex</dt><dd>{{sex}}</dd></div><div><dt>Address</dt><dd>{{address}}</dd></div><div><dt>Identity</dt><dd><code>{{id}}</code> <span class="muted">{{authority}}</span></dd></div></dl>{{/record}}
        {{#candidate}}<dl class="facts compact"><div><dt>Candidate</dt><dd>{{name}}</dd></div><div><dt>Born</dt><dd>{{born}}</dd></div><div><dt>Sex</dt><dd>{{sex}}</dd></div><div><dt>Address</dt><dd>{{address}}</dd></div><div><dt>Identity</dt><dd><code>{{id}}</code> <span class="muted">{{authority}}</span></dd></div></dl>{{/candidate}}
      </div>
      <form method="post" action="/portal/admin/matches/decide" class="review-form">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="match" value="{{handle}}">
        <button type="submit" name="decision" value="accept" class="primary">Accept: same person</button>
        <button type="submit" name="decision" value="reject">Reject: different people</button>
      </form>
    </section>
    {{/items}}
    {{/hasItems}}
    {{^items}}<p class="empty">No possible match waits for this hospital.</p>{{/items}}
    """

    static let transfers = """
    {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
    <h2>Inbox <span class="badge">{{pending}} to accept</span></h2>
    <p class="muted">Transfers other hospitals sent here. Accepting one files its documents under this hospital's patient: the one the regional MPI links to the patient the sender named, or the one you name.</p>
    {{#hasReceived}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">From</th><th scope="col">Received</th><th scope="col">Reason</th><th scope="col">Documents</th><th scope="col">Patient (as the sender named her)</th><th scope="col">Status</th></tr></thead>
    <tbody>{{#received}}<tr><td><strong>{{from}}</strong>{{#sentBy}}<br><span class="muted">{{sentBy}}</span>{{/sentBy}}</td><td class="nowrap">{{when}}</td><td>{{reason}}</td>
    <td><ul class="plain">{{#documents}}<li>{{title}} <span class="muted">{{kind}}</span> <span class="conf conf-{{conf}}">{{confLabel}}</span></li>{{/documents}}</ul>{{#withheld}}<span class="muted">{{withheld}}</span>{{/withheld}}</td>
    <td><code>{{patient}}</code><br><span class="muted">{{patientAuthority}}</span></td>
    <td class="actions">
      {{#accepted}}<span class="status-ok">Filed</span> under <code>{{patient}}</code><br><span class="muted">by {{by}}, {{when}}</span>{{/accepted}}
      {{#linked}}<form method="post" action="/portal/medical/transfers/accept" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="transfer" value="{{handle}}">
        <p class="muted">The MPI links this hospital's patient <code>{{linked}}</code>.</p><button type="submit" class="primary">Accept</button></form>{{/linked}}
      {{#choose}}<form method="post" action="/portal/medical/transfers/accept"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="transfer" value="{{handle}}">
        {{#linkError}}<p class="muted">The regional MPI could not be asked (<code>{{linkError}}</code>): name the patient.</p>{{/linkError}}
        {{^linkError}}<p class="muted">No patient of this hospital is linked to hers.</p>{{/linkError}}
        <label for="local-{{handle}}">File under hospital patient id</label><input id="local-{{handle}}" name="localId" autocomplete="off" required>
        <p class="muted">Filing under the patient you name does not link the two records in the regional MPI.</p>
        <button type="submit" class="primary">Accept</button></form>
        {{#register}}<form method="post" action="/portal/medical/transfers/register/form" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="transfer" value="{{handle}}">
        <p class="muted">New to this hospital?</p><button type="submit">Register her and accept…</button></form>{{/register}}{{/choose}}
    </td></tr>{{/received}}</tbody></table></div>
    {{/hasReceived}}
    {{^received}}<p class="empty">No transfer has been received.</p>{{/received}}
    <h2>Send a transfer</h2>
    {{#selected}}
    {{#hasSendable}}
    <form method="post" action="/portal/medical/transfers/send" class="card search-form">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <fieldset><legend>Documents of the selected patient held at this hospital</legend>
      {{#sendable}}<div class="choice"><input type="checkbox" id="doc-{{handle}}" name="doc-{{handle}}" value="on"> <label for="doc-{{handle}}">{{title}} <span class="muted">{{date}}</span> <span class="conf conf-{{conf}}">{{confLabel}}</span></label></div>{{/sendable}}
      </fieldset>
      <div class="fields">
        <div><label for="to">Receiving hospital</label><select id="to" name="to">{{#hospitals}}<option value="{{id}}">{{id}}</option>{{/hospitals}}</select></div>
        <div><label for="reason">Reason</label><input id="reason" name="reason" placeholder="Referral, transfer of care…" autocomplete="off"></div>
      </div>
      <button type="submit" class="primary">Send, signed and encrypted</button>
      <p class="muted">The receiving hospital's organisation is weighed against the patient's consents before anything leaves; its signed receipt is kept.</p>
    </form>
    {{/hasSendable}}
    {{^hasSendable}}<p class="empty">The selected patient has no document held at this hospital that you may send.</p>{{/hasSendable}}
    {{/selected}}
    {{^selected}}<p class="muted"><a href="/portal/medical">Find a patient</a> first: her documents held here can then be sent.</p>{{/selected}}
    <h2>Sent</h2>
    {{#hasSent}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">To</th><th scope="col">Sent</th><th scope="col">By</th><th scope="col">Reason</th><th scope="col">Documents</th><th scope="col">Patient</th></tr></thead>
    <tbody>{{#sent}}<tr><td><strong>{{to}}</strong></td><td class="nowrap">{{when}}</td><td>{{sentBy}}</td><td>{{reason}}</td>
    <td><ul class="plain">{{#documents}}<li>{{title}} <span class="conf conf-{{conf}}">{{confLabel}}</span></li>{{/documents}}</ul></td><td><code>{{patient}}</code></td></tr>{{/sent}}</tbody></table></div>
    {{/hasSent}}
    {{^sent}}<p class="empty">Nothing sent from this hospital yet.</p>{{/sent}}
    """

    static let transferRegister = """
    <p class="lead">No patient of this hospital is linked to the patient of this transfer. Register her here, then her documents are filed under her.</p>
    {{#transfer}}
    <section class="card" aria-labelledby="transfer-title">
      <h2 id="transfer-title">The transfer</h2>
      <dl class="facts">
        <div><dt>From</dt><dd><strong>{{from}}</strong>{{#sentBy}} <span class="muted">{{sentBy}}</span>{{/sentBy}}</dd></div>
        <div><dt>Received</dt><dd>{{when}}</dd></div>
        <div><dt>Reason</dt><dd>{{reason}}</dd></div>
        <div><dt>Patient (as the sender named her)</dt><dd><code>{{patient}}</code> <span class="muted">{{patientAuthority}}</span></dd></div>
      </dl>
      <ul class="plain">{{#documents}}<li>{{title}} <span class="muted">{{kind}}</span> <span class="conf conf-{{conf}}">{{confLabel}}</span></li>{{/documents}}</ul>
    </section>
    {{/transfer}}
    {{#error}}<p class="notice notice-error" role="alert">{{error}} <code>{{errorCode}}</code></p>{{/error}}
    <form method="post" action="/portal/medical/transfers/register" class="card search-form">
      <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="transfer" value="{{handle}}">
      <fieldset><legend>The patient</legend>
      <p class="muted">Prefilled from the received document's header (recordTarget). Check them against the patient and the referral.</p>
      <div class="fields">
        <div><label for="family">Family name</label><input id="family" name="family" value="{{family}}" autocomplete="off"></div>
        <div><label for="given">Given name</label><input id="given" name="given" value="{{given}}" autocomplete="off"></div>
        <div><label for="birth">Birth date</label><input id="birth" name="birth" value="{{birth}}" placeholder="YYYYMMDD" inputmode="numeric" autocomplete="off"></div>
        <div><label for="sex">Sex</label><select id="sex" name="sex"><option value="">not stated</option>{{#sexes}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/sexes}}</select></div>
      </div>
      </fieldset>
      <fieldset><legend>This hospital's id for her</legend>
      <div class="fields">
        <div><label for="mrn">Hospital patient id (MRN)</label><input id="mrn" name="mrn" value="{{mrn}}" required autocomplete="off" aria-describedby="mrn-hint"></div>
      </div>
      <p class="muted" id="mrn-hint">The id your EMR gave her{{#authority}}, in this hospital's domain <code>{{authority}}</code>{{/authority}}. An id given to another patient is refused.</p>
      </fieldset>
      <button type="submit" class="primary">Register and accept the transfer</button>
      <p class="muted">Registered as an admission (ADT^A04) through this hospital's HL7 feed: the code tables, this hospital's patient index and the regional MPI's matching apply as to any patient the EMR registers.</p>
    </form>
    <p><a href="/portal/medical/transfers">← Back to the inbox</a></p>
    """

    static let css = """
    .notice-error { background:#fdecea; border-color:#f1b5b0; }
    .wrap { overflow-wrap:anywhere; }
    .match { margin:1rem 0; } .match-head { margin-bottom:.5rem; }
    .match-sides { display:grid; grid-template-columns:1fr 1fr; gap:1rem; margin-bottom:.75rem; }
    @media (max-width: 50rem) { .match-sides { grid-template-columns:1fr; } }
    .match-sides dl.facts { border:1px solid var(--line); padding:.75rem 1rem; grid-template-columns:1fr 1fr; }
    figure.dicom-preview { margin:1rem 0; background:#0b0f14; border-radius:10px; padding:1rem; display:inline-block; max-width:100%; }
    figure.dicom-preview img { display:block; max-width:100%; height:auto; image-rendering:auto; }
    figure.dicom-preview figcaption { color:#c9d3dc; font-size:.85rem; margin-top:.5rem; }
    """
}
