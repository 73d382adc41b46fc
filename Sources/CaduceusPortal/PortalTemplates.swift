import Mustache

/// The portal's pages as Mustache templates (swift-mustache; `{{x}}` is HTML-escaped, `{{{x}}}` only ever receives
/// HTML this module built by allow-list) and its one stylesheet. Compiled into the binary: the portal needs no file,
/// no CDN and no script — it works offline. Every page is `layout` around a station's template; admin and card
/// stations add their templates and navigation entries the same way.
enum PortalTemplates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in templates + StationTemplates.templates + RecordTemplates.templates { try library.register(text, named: name) }
        return library
    }

    static let templates: [(String, String)] = [
        ("layout", layout), ("entry", entry), ("home", home), ("breakglass", breakglass), ("error", error),
        ("documents", documents), ("document", document), ("access", access), ("consents", consents), ("card", card),
        ("search", search), ("patient", patient), ("emergencies", emergencies),
        ("audit", audit),
    ]

    static let layout = """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}} · Caduceus</title>
    <link rel="stylesheet" href="/portal/static/portal.css">
    </head>
    <body>
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <div class="brand"><span class="mark" aria-hidden="true">⚕</span> Caduceus <span class="node">{{node}}</span></div>
      {{#who}}
      <div class="who">
        <span class="person">{{name}}</span>
        <span class="badge">{{role}}</span>
        <span class="badge {{#emergency}}badge-emergency{{/emergency}}">{{purpose}}</span>
        <form method="post" action="/portal/signout" class="inline">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <button type="submit" class="link-button">Sign out</button>
        </form>
      </div>
      {{/who}}
    </header>
    {{#hasNav}}
    <nav class="stations" aria-label="Station">
      <ul>{{#nav}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a></li>{{/nav}}</ul>
    </nav>
    {{/hasNav}}
    {{#emergency}}
    <div class="emergency-banner" role="alert"><strong>Emergency access (break-glass).</strong> Everything you open is recorded as an emergency override and reviewed by the privacy officer.</div>
    {{/emergency}}
    <main id="main">
    <h1>{{title}}</h1>
    {{{body}}}
    </main>
    <footer class="foot">Caduceus health information exchange · signed in with your card · every access is recorded</footer>
    </body>
    </html>
    """

    static let entry = """
    <section class="card narrow">
      <p class="lead">Your card was read: <strong>{{name}}</strong>{{#role}} — {{role}}{{/role}}{{#organization}}, {{organization}}{{/organization}}.</p>
      {{#patient}}
      <p>You are opening your own record. Your access is recorded in your record's access report like anyone else's.</p>
      <form method="post" action="/portal/signin">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="purpose" value="PATRQT">
        <button type="submit" class="primary">Open my record</button>
      </form>
      {{/patient}}
      {{^patient}}
      <form method="post" action="/portal/signin">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset>
          <legend>Why are you opening records today? (purpose of use)</legend>
          {{#purposes}}
          <div class="choice"><input type="radio" id="purpose-{{code}}" name="purpose" value="{{code}}"{{#checked}} checked{{/checked}}>
          <label for="purpose-{{code}}"><strong>{{label}}</strong> <span class="muted">{{code}}</span></label></div>
          {{/purposes}}
        </fieldset>
        <button type="submit" class="primary">Sign in</button>
      </form>
      <p class="muted">In an emergency, when the patient's consent or the usual limits would keep a record closed:
      <a href="/portal/breakglass" class="danger-link">emergency access (break-glass)</a>.</p>
      {{/patient}}
    </section>
    """

    static let home = """
    <p class="lead">Signed in as {{name}} ({{role}}) for the purpose {{purpose}}, until {{expires}}.</p>
    <div class="tiles">
    {{#tiles}}<a class="tile" href="{{href}}"><strong>{{label}}</strong><span>{{text}}</span></a>{{/tiles}}
    </div>
    """

    static let breakglass = """
    <section class="card narrow emergency-card">
      <p class="lead"><strong>Break-glass</strong> opens restricted records for one hour, for emergency treatment only.</p>
      <ul>
        <li>It overrides a patient's opt-out.</li>
        <li>Every record you open is marked as an emergency override on the patient's access report.</li>
        <li>The privacy officer reviews every break-glass access and your stated reason.</li>
      </ul>
      <form method="post" action="/portal/breakglass">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="reason">Reason (required)</label>
        <textarea id="reason" name="reason" rows="3" required minlength="4" maxlength="500"></textarea>
        <button type="submit" class="danger">Declare emergency access</button>
        <a href="/portal" class="button-secondary">Cancel</a>
      </form>
    </section>
    """

    static let error = """
    <section class="card narrow error-card">
      <p class="lead">{{message}}</p>
      <p>Error code: <code>{{code}}</code></p>
      <p><a href="/portal">Back to the start page</a></p>
    </section>
    """

    static let documents = """
    {{#intro}}<p class="lead">{{intro}}</p>{{/intro}}
    {{#hasDocuments}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Document</th><th scope="col">Kind</th><th scope="col">Date</th><th scope="col">From</th><th scope="col">Confidentiality</th><th scope="col"><span class="sr-only">Open</span></th></tr></thead>
    <tbody>
    {{#documents}}<tr><td>{{title}}</td><td>{{kind}}</td><td>{{date}}</td><td>{{source}}</td><td><span class="conf conf-{{conf}}">{{confLabel}}</span></td><td><a href="/portal/documents/{{handle}}">Open</a></td></tr>{{/documents}}
    </tbody></table></div>
    {{/hasDocuments}}
    {{^documents}}<p class="empty">No documents you may see.</p>{{/documents}}
    """

    static let document = """
    <p><a href="{{back}}">← Back</a></p>
    <dl class="facts">{{#facts}}<div><dt>{{label}}</dt><dd>{{value}}</dd></div>{{/facts}}</dl>
    <article class="cda">{{{html}}}</article>
    """

    static let access = """
    <p class="lead">Everyone who touched your record, at every node of the federation, oldest first.</p>
    {{#hasUnavailable}}<p class="notice">Not reachable just now: {{#unavailable}}{{.}} {{/unavailable}}</p>{{/hasUnavailable}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">When</th><th scope="col">Where</th><th scope="col">Who</th><th scope="col">Role</th><th scope="col">Purpose</th><th scope="col">What</th><th scope="col">Outcome</th></tr></thead>
    <tbody>
    {{#entries}}<tr{{#emergency}} class="row-emergency"{{/emergency}}><td class="nowrap">{{time}}</td><td>{{node}}</td><td>{{who}}</td><td>{{role}}</td><td>{{purpose}}{{#emergency}} <span class="badge badge-emergency">break-glass</span>{{/emergency}}</td><td>{{action}} <span class="muted"><code>{{code}}</code></span></td><td>{{outcome}}</td></tr>{{/entries}}
    </tbody></table></div>
    """

    static let consents = """
    <p class="lead">Your choices about sharing your record, as the regional registry holds them. The newest choice in force decides; one for a single organisation comes before one for everyone.</p>
    {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
    {{#problem}}<p class="problem" role="alert"><strong>Not recorded:</strong> {{problem}}</p>{{/problem}}
    {{#hasConsents}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Decision</th><th scope="col">For</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">Made</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Withdraw</span></th></tr></thead>
    <tbody>{{#consents}}<tr><td>{{decision}}</td><td>{{scope}}</td><td class="nowrap">{{from}}</td><td class="nowrap">{{until}}</td><td><span class="nowrap">{{recorded}}</span><br><span class="muted">{{how}}</span></td><td>{{#inForce}}<span class="status-ok">{{status}}</span>{{/inForce}}{{^inForce}}{{status}}{{/inForce}}</td><td>
      {{#withdrawable}}<form method="post" action="/portal/patient/consents/withdraw" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="consent" value="{{handle}}"><button type="submit">Withdraw</button></form>{{/withdrawable}}
    </td></tr>{{/consents}}</tbody>
    </table></div>
    {{/hasConsents}}
    {{^consents}}<p class="empty">No consent on file: the federation's default applies (your record is shared for your treatment).</p>{{/consents}}
    <form method="post" action="/portal/patient/consents" class="card search-form consent-form">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <h2>Make a new choice</h2>
      <fieldset><legend>Sharing</legend>
        <div class="choice"><input type="radio" id="decision-permit" name="decision" value="permit"{{^deny}} checked{{/deny}}><label for="decision-permit">Share my record (opt in)</label></div>
        <div class="choice"><input type="radio" id="decision-deny" name="decision" value="deny"{{#deny}} checked{{/deny}}><label for="decision-deny">Do not share (opt out, or withhold)</label></div>
      </fieldset>
      <fieldset><legend>For</legend>
        <div class="choice"><input type="radio" id="scope-all" name="scope" value="all"{{#scopeAll}} checked{{/scopeAll}}><label for="scope-all">Every organisation</label></div>
        <div class="choice"><input type="radio" id="scope-organization" name="scope" value="organization"{{#scopeOrganization}} checked{{/scopeOrganization}}><label for="scope-organization">One organisation</label>
          <label for="organization" class="sr-only">Organisation</label><select id="organization" name="organization">{{#organizations}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{id}}</option>{{/organizations}}</select></div>
        {{#hasKinds}}<div class="choice"><input type="radio" id="scope-kind" name="scope" value="kind"{{#scopeKind}} checked{{/scopeKind}}><label for="scope-kind">One kind of document (withhold only)</label>
          <label for="kind" class="sr-only">Kind of document</label><select id="kind" name="kind">{{#kinds}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select></div>{{/hasKinds}}
        {{#hasDocuments}}<div class="choice"><input type="radio" id="scope-document" name="scope" value="document"{{#scopeDocument}} checked{{/scopeDocument}}><label for="scope-document">One document (withhold only)</label>
          <label for="document" class="sr-only">Document</label><select id="document" name="document">{{#documents}}<option value="{{handle}}">{{label}}</option>{{/documents}}</select></div>{{/hasDocuments}}
      </fieldset>
      <div class="fields">
        <div><label for="from">From (first day)</label><input type="date" id="from" name="from" value="{{from}}" min="{{today}}" required></div>
        <div><label for="until">Until (last day, optional)</label><input type="date" id="until" name="until" value="{{until}}"></div>
      </div>
      <button type="submit" class="primary">Record my choice</button>
      <p class="muted">Your hospital's node states this choice for your card, which signed you in, and the regional registry records it; every hospital of the region then follows it. Everything here is on your record's access trail.</p>
    </form>
    """

    static let card = """
    <dl class="facts">{{#facts}}<div><dt>{{label}}</dt><dd>{{value}}</dd></div>{{/facts}}</dl>
    <p class="status-ok">✓ Valid now: this page was opened with it, checked against the federation's revocation lists{{#ocsp}} and, at sign-in, its authority's OCSP responder{{/ocsp}}.</p>
    """

    static let search = """
    <form method="post" action="/portal/medical/search" class="card search-form">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <div class="fields">
        <div><label for="family">Family name</label><input id="family" name="family" autocomplete="off"></div>
        <div><label for="given">Given name</label><input id="given" name="given" autocomplete="off"></div>
        <div><label for="birth">Birth date</label><input id="birth" name="birth" placeholder="YYYYMMDD" inputmode="numeric" autocomplete="off"></div>
        <div><label for="sex">Sex</label><select id="sex" name="sex"><option value="">any</option><option value="F">female</option><option value="M">male</option><option value="O">other</option></select></div>
      </div>
      <button type="submit" class="primary">Search the region</button>
    </form>
    {{#searched}}
    {{#hasMatches}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Name</th><th scope="col">Born</th><th scope="col">Sex</th><th scope="col">Records</th><th scope="col"><span class="sr-only">Select</span></th></tr></thead>
    <tbody>{{#matches}}<tr><td>{{name}}</td><td>{{born}}</td><td>{{sex}}</td><td>{{records}}</td><td>
      <form method="post" action="/portal/medical/select" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="patient" value="{{handle}}"><button type="submit">Open</button></form>
    </td></tr>{{/matches}}</tbody></table></div>
    {{/hasMatches}}
    {{^matches}}<p class="empty">Nobody in the region matches.</p>{{/matches}}
    {{/searched}}
    """

    static let patient = """
    <p><a href="/portal/medical">← Find another patient</a></p>
    {{{documentsTable}}}
    {{^emergency}}<p class="muted">A record you need is not listed? It may be withheld by the patient's consent or above your role's limits. In an emergency: <a href="/portal/breakglass" class="danger-link">break-glass</a>.</p>{{/emergency}}
    """

    static let emergencies = """
    <p class="lead">Break-glass accesses declared or used at this node, for review.</p>
    {{#hasEntries}}
    <div class="table-wrap"><table>
    <thead><tr><th scope="col">Started</th><th scope="col">Who</th><th scope="col">Role</th><th scope="col">Reason</th><th scope="col">Uses</th><th scope="col">Review</th></tr></thead>
    <tbody>{{#entries}}<tr class="{{^reviewed}}row-emergency{{/reviewed}}"><td class="nowrap">{{started}}</td><td>{{who}}</td><td>{{role}}</td><td>{{reason}}</td><td>{{uses}}</td><td>
    {{#reviewed}}{{reviewed}}{{/reviewed}}
    {{^reviewed}}<form method="post" action="/portal/privacy/review" class="inline review-form"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="entry" value="{{handle}}">
    <label for="note-{{handle}}" class="sr-only">Finding</label><input id="note-{{handle}}" name="note" required maxlength="2000" placeholder="Finding"><button type="submit">Record review</button></form>{{/reviewed}}
    </td></tr>{{/entries}}</tbody></table></div>
    {{/hasEntries}}
    {{^entries}}<p class="empty">No break-glass access to review.</p>{{/entries}}
    """

    static let audit = """
    <form method="post" action="/portal/privacy/audit" class="card search-form audit-form">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <div class="fields">
        <div><label for="patient">Patient identifier</label><input id="patient" name="patient" value="{{patient}}" autocomplete="off"></div>
        <div><label for="authority">Assigning authority</label><input id="authority" name="authority" value="{{authority}}" autocomplete="off" placeholder="OID"></div>
        <div><label for="user">User</label><input id="user" name="user" value="{{user}}" autocomplete="off" placeholder="card name or node"></div>
        <div><label for="event">Event</label><select id="event" name="event">{{#events}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/events}}</select></div>
        <div><label for="outcome">Outcome</label><select id="outcome" name="outcome">{{#outcomes}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/outcomes}}</select></div>
        <div><label for="from">From (UTC)</label><input id="from" name="from" type="date" value="{{from}}"></div>
        <div><label for="to">To (UTC, included)</label><input id="to" name="to" type="date" value="{{to}}"></div>
      </div>
      <button type="submit" class="primary">Search the trail</button>
    </form>
    <div class="console">
    <section class="card chart-card" aria-labelledby="chart-title">
      <h2 id="chart-title">Events and refusals, last 14 days</h2>
      {{{chart}}}
      <p class="legend"><span class="key key-events"></span> events <span class="key key-refusals"></span> refusals and failures</p>
    </section>
    <section class="card alerts-card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts</h2>
      {{#hasAlerts}}<ul class="alerts">{{#bursts}}<li class="alert-integrity"><span class="nowrap">{{from}} – {{to}}</span> <span class="badge badge-emergency">{{#signIn}}failed sign-ins{{/signIn}}{{^signIn}}burst of refusals{{/signIn}}</span>
        <strong>{{count}} refused</strong> · {{user}} · <code>{{errorCode}}</code></li>{{/bursts}}{{#alerts}}<li class="{{#integrity}}alert-integrity{{/integrity}}{{^integrity}}alert-security{{/integrity}}">
        <span class="nowrap">{{time}}</span> {{#integrity}}<span class="badge badge-emergency">integrity alarm</span>{{/integrity}}
        <strong>{{operation}}</strong> · {{user}}{{^ok}} · <code>{{outcome}}</code>{{/ok}}{{#emergency}} <span class="badge badge-emergency">break-glass</span>{{/emergency}}</li>{{/alerts}}</ul>{{/hasAlerts}}
      {{^hasAlerts}}<p class="empty">No security alert on this node's trail.</p>{{/hasAlerts}}
    </section>
    </div>
    <h2>{{#searched}}Search results{{/searched}}{{^searched}}Latest events{{/searched}} <span class="muted">({{count}}{{#truncated}}, more match: narrow the search{{/truncated}})</span></h2>
    <form method="post" action="/portal/privacy/audit/export" class="inline">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <button type="submit">Export these events as CSV</button>
    </form>
    {{#hasRows}}
    <div class="table-wrap"><table class="audit-table">
    <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Outcome</th><th scope="col">User</th><th scope="col">Purpose</th><th scope="col">Patient</th></tr></thead>
    <tbody>{{#rows}}<tr{{#emergency}} class="row-emergency"{{/emergency}}><td class="nowrap">{{time}}</td><td>{{event}} <span class="muted">{{operation}}</span></td>
    <td>{{#ok}}<span class="status-ok">{{outcome}}</span>{{/ok}}{{^ok}}<code class="refused">{{outcome}}</code>{{/ok}}</td><td>{{user}} <span class="muted">{{role}}</span></td>
    <td>{{purpose}}{{#emergency}} <span class="badge badge-emergency">break-glass</span>{{/emergency}}</td><td>{{patients}}</td></tr>{{/rows}}</tbody></table></div>
    {{/hasRows}}
    {{^hasRows}}<p class="empty">No event matches.</p>{{/hasRows}}
    <p class="muted">Patients appear by this node's pseudonym of their identifier; the trail holds no name or identifier in clear. Every search and export is itself recorded.</p>
    """

    static let css = """
    :root { --ink:#1d2733; --muted:#5b6877; --line:#d9e0e7; --bg:#f4f6f8; --card:#fff; --brand:#0f5e6b; --brand-ink:#fff;
      --accent:#0f7c8c; --danger:#b42318; --danger-bg:#fdecea; --ok:#1a7f37; }
    * { box-sizing: border-box; }
    html { font-size: 16px; }
    body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color:var(--ink); background:var(--bg); line-height:1.5; }
    a { color: var(--accent); }
    a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f0b429; outline-offset: 2px; }
    .skip { position:absolute; left:-999px; } .skip:focus { left: 1rem; top: .5rem; background:#fff; padding:.5rem; z-index:9; }
    .sr-only { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); }
    header.top { display:flex; justify-content:space-between; align-items:center; gap:1rem; flex-wrap:wrap; background:var(--brand); color:var(--brand-ink); padding:.75rem 1.5rem; }
    .brand { font-size:1.25rem; font-weight:650; letter-spacing:.01em; }
    .brand .mark { font-size:1.4rem; margin-right:.25rem; }
    .brand .node { font-size:.8rem; font-weight:400; opacity:.8; margin-left:.5rem; padding:.1rem .5rem; border:1px solid rgba(255,255,255,.4); border-radius:999px; }
    .who { display:flex; align-items:center; gap:.5rem; flex-wrap:wrap; }
    .who .person { font-weight:600; }
    .badge { display:inline-block; font-size:.75rem; padding:.1rem .55rem; border-radius:999px; background:rgba(255,255,255,.18); border:1px solid rgba(255,255,255,.35); }
    main .badge { background:#e7eef3; border-color:var(--line); }
    .badge-emergency, main .badge-emergency { background:var(--danger); color:#fff; border-color:var(--danger); }
    .link-button { background:none; border:1px solid rgba(255,255,255,.6); color:#fff; border-radius:6px; padding:.25rem .7rem; cursor:pointer; font:inherit; font-size:.85rem; }
    nav.stations { background:#fff; border-bottom:1px solid var(--line); padding:0 1.5rem; }
    nav.stations ul { list-style:none; margin:0; padding:0; display:flex; gap:.25rem; flex-wrap:wrap; }
    nav.stations a { display:block; padding:.7rem .9rem; text-decoration:none; color:var(--ink); border-bottom:3px solid transparent; }
    nav.stations a[aria-current="page"] { border-bottom-color:var(--accent); font-weight:600; }
    .emergency-banner { background:var(--danger); color:#fff; padding:.6rem 1.5rem; }
    main { max-width:72rem; margin:0 auto; padding:1.5rem; }
    h1 { font-size:1.6rem; margin:.25rem 0 1rem; }
    h2 { font-size:1.25rem; } h3 { font-size:1.1rem; }
    .lead { font-size:1.05rem; }
    .muted { color:var(--muted); font-size:.92rem; }
    .card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:1.25rem 1.5rem; box-shadow:0 1px 2px rgba(16,24,40,.04); }
    .narrow { max-width:40rem; }
    .emergency-card { border-color:var(--danger); border-left:6px solid var(--danger); }
    .error-card { border-left:6px solid var(--danger); }
    fieldset { border:1px solid var(--line); border-radius:8px; padding:.75rem 1rem; margin:0 0 1rem; }
    legend { font-weight:600; padding:0 .3rem; }
    .choice { padding:.3rem 0; }
    label { font-weight:600; }
    .choice label { font-weight:400; }
    input, select, textarea { font:inherit; padding:.45rem .6rem; border:1px solid #b8c4cf; border-radius:6px; background:#fff; }
    textarea { width:100%; display:block; margin:.35rem 0 1rem; }
    button, .button-secondary { font:inherit; cursor:pointer; border-radius:6px; padding:.5rem 1rem; border:1px solid #b8c4cf; background:#fff; color:var(--ink); text-decoration:none; display:inline-block; }
    button.primary { background:var(--accent); border-color:var(--accent); color:#fff; font-weight:600; }
    button.danger { background:var(--danger); border-color:var(--danger); color:#fff; font-weight:600; }
    .danger-link { color:var(--danger); font-weight:600; }
    form.inline { display:inline; margin:0; }
    .search-form .fields { display:grid; grid-template-columns:repeat(auto-fit, minmax(12rem, 1fr)); gap:.75rem 1rem; margin-bottom:1rem; }
    .search-form .fields label { display:block; margin-bottom:.2rem; }
    .search-form .fields input, .search-form .fields select { width:100%; }
    .tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(15rem, 1fr)); gap:1rem; }
    .tile { display:block; background:#fff; border:1px solid var(--line); border-radius:10px; padding:1rem 1.25rem; text-decoration:none; color:var(--ink); }
    .tile strong { display:block; color:var(--brand); font-size:1.05rem; margin-bottom:.25rem; }
    .tile span { color:var(--muted); font-size:.92rem; }
    .tile:hover { border-color:var(--accent); }
    .table-wrap { overflow-x:auto; margin:1rem 0; }
    table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); border-radius:8px; }
    th, td { text-align:left; padding:.5rem .75rem; border-bottom:1px solid var(--line); vertical-align:top; }
    thead th { background:#eef2f5; font-size:.85rem; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); }
    tbody tr:nth-child(even) { background:#fafbfc; }
    tr.row-emergency td { background:var(--danger-bg); }
    .conf { font-size:.8rem; padding:.1rem .5rem; border-radius:4px; background:#e7eef3; }
    .conf-R { background:#fff4e5; } .conf-V { background:var(--danger-bg); }
    .empty { color:var(--muted); font-style:italic; }
    .problem { background:#fdecea; border:1px solid #f5b5ae; padding:.5rem .75rem; border-radius:6px; }
    .consent-form .choice select { margin-left:.5rem; }
    .consent-form h2 { margin-top:0; }
    .notice { background:#fff8e1; border:1px solid #f0d68a; padding:.5rem .75rem; border-radius:6px; }
    dl.facts { display:grid; grid-template-columns:repeat(auto-fit, minmax(14rem, 1fr)); gap:.5rem 1.5rem; background:#fff; border:1px solid var(--line); border-radius:10px; padding:1rem 1.25rem; }
    dl.facts dt { font-size:.8rem; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); }
    dl.facts dd { margin:0; font-weight:600; overflow-wrap:anywhere; }
    article.cda { background:#fff; border:1px solid var(--line); border-radius:10px; padding:.5rem 1.5rem 1rem; margin-top:1rem; }
    .cda-section { border-top:1px solid var(--line); padding-top:.25rem; } .cda-section:first-child { border-top:none; }
    .omitted, .link-text { color:var(--muted); font-style:italic; display:inline-block; margin-right:.75em; }
    td.nowrap { white-space:nowrap; }
    .status-ok { color:var(--ok); font-weight:600; }
    form.review-form { display:flex; gap:.5rem; align-items:center; flex-wrap:wrap; }
    .review-form input { width:14rem; }
    .console { display:grid; grid-template-columns:minmax(0, 3fr) minmax(0, 2fr); gap:1rem; margin:1rem 0; }
    @media (max-width: 60rem) { .console { grid-template-columns:1fr; } }
    .console h2 { margin-top:0; font-size:1.1rem; }
    svg.chart { width:100%; height:auto; display:block; }
    svg.chart .bar-events { fill:var(--accent); } svg.chart .bar-refusals { fill:var(--danger); }
    svg.chart .grid { stroke:var(--line); stroke-width:1; } svg.chart .baseline { stroke:#8a97a4; stroke-width:1; }
    svg.chart .axis { fill:var(--muted); font-size:11px; }
    .legend { font-size:.85rem; color:var(--muted); margin:.25rem 0 0; }
    .key { display:inline-block; width:.8rem; height:.8rem; border-radius:2px; vertical-align:middle; margin-left:.5rem; }
    .key-events { background:var(--accent); } .key-refusals { background:var(--danger); }
    ul.alerts { list-style:none; margin:0; padding:0; max-height:16rem; overflow-y:auto; }
    ul.alerts li { padding:.35rem .5rem; border-bottom:1px solid var(--line); font-size:.9rem; }
    ul.alerts li.alert-integrity { background:var(--danger-bg); }
    code.refused { color:var(--danger); }
    .audit-table td { font-size:.92rem; }
    .foot { text-align:center; color:var(--muted); font-size:.8rem; padding:2rem 1rem; }
    """
}
