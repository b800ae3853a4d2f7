using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using CardKeep.Protocol.Records;
using CardKeep.Server.Accounts;

namespace CardKeep.Server.Portal;

/// <summary>The portal's HTML: small functions over <see cref="HtmlEncoder"/> (every value is encoded; no script).</summary>
internal static class PortalPages
{
    public const string Css = """
        body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
        header { background: #1f3a5f; color: #fff; padding: .7rem 1.5rem; display: flex; justify-content: space-between; align-items: center; }
        header h1 { font-size: 1.15rem; margin: 0; }
        main { max-width: 64rem; margin: 1.5rem auto; padding: 0 1.5rem; }
        section { background: #fff; border: 1px solid #d8dde3; border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
        h2 { font-size: 1.05rem; margin-top: 0; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
        th { font-weight: 600; font-size: .85rem; color: #4a5561; }
        label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
        input[type=text], input[type=password] { width: 100%; max-width: 24rem; padding: .4rem; font: inherit; }
        button { font: inherit; padding: .35rem .8rem; cursor: pointer; border-radius: 4px; border: 1px solid #1f3a5f; background: #1f3a5f; color: #fff; }
        button.danger { background: #9b1c1c; border-color: #9b1c1c; }
        header button { background: transparent; }
        .error { background: #fdecea; border: 1px solid #f5c2c0; padding: .6rem .8rem; border-radius: 4px; }
        .notice { background: #e8f4ea; border: 1px solid #b9dcbf; padding: .6rem .8rem; border-radius: 4px; }
        .state-active { color: #1c6b2e; font-weight: 600; } .state-revoked, .state-expired { color: #9b1c1c; font-weight: 600; }
        .key { font: 1.6rem/1.4 ui-monospace, monospace; letter-spacing: .05em; background: #fffbe6; border: 1px dashed #c9a400; padding: .8rem; word-break: break-all; }
        code, pre { font-family: ui-monospace, monospace; font-size: .9rem; } pre { background: #f0f2f5; padding: .6rem; overflow-x: auto; }
        .muted { color: #5d6875; font-size: .85rem; }
        """;

    public static string SignIn(string? username, string? message) => Layout("Sign in", null, $"""
        <section>
        <h2>Sign in with your recovery password</h2>
        {(message is null ? "" : $"<p class=\"{(message.StartsWith("You are", StringComparison.Ordinal) ? "notice" : "error")}\" role=\"alert\">{E(message)}</p>")}
        <form method="post" action="/portal/sign-in" autocomplete="off">
        <label for="username">User name</label><input type="text" id="username" name="username" value="{E(username)}" required autocapitalize="none" spellcheck="false">
        <label for="password">Recovery password</label><input type="password" id="password" name="password" required>
        <label for="answer">Answer to your challenge question <span class="muted">(optional extra check)</span></label><input type="password" id="answer" name="answer">
        <p><button type="submit">Sign in</button></p>
        </form>
        <p class="muted">Too many failed attempts lock the account for a while, even with the right password.</p>
        </section>
        """);

    public static string Account(AccountView me, IReadOnlyList<CardView> cards, AuditView audit, RecordSummaryDto environment, QuotaDto? offer, string csrf, string server, string? error, string? notice)
    {
        var html = new StringBuilder();
        if (error is not null)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"error\" role=\"alert\">{E(error)}</p>");
        }

        if (notice is not null)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"notice\" role=\"status\">{E(notice)}</p>");
        }

        html.Append(CultureInfo.InvariantCulture, $"""
            <section id="profile"><h2>Account</h2>
            <p><strong>{E(me.FullName)}</strong> ({E(me.Username)}) · {E(me.Email)}<br><span class="muted">Challenge question: {E(me.Question)}</span></p>
            </section>
            <section id="cards"><h2>Cards</h2>
            <table><thead><tr><th>Serial</th><th>Kind</th><th>State</th><th>Registered</th><th>Expires / revoked</th><th>Replaced by</th><th></th></tr></thead><tbody>
            """);
        foreach (var card in cards)
        {
            html.Append(CultureInfo.InvariantCulture, $"""
                <tr data-serial="{E(card.Serial)}"><td><code>{E(card.Serial)}</code></td><td>{E(card.Kind)}</td><td class="state-{E(card.State)}">{E(card.State)}</td>
                <td>{T(card.RegisteredAt)}</td><td>{T(card.RevokedAt ?? card.ExpiresAt)}</td><td>{(card.ReplacedBy is null ? "" : $"<code>{E(card.ReplacedBy)}</code>")}</td><td>
                """);
            if (card.State == "active")
            {
                html.Append(CultureInfo.InvariantCulture, $"""
                    <form method="post" action="/portal/report-lost"><input type="hidden" name="csrf" value="{E(csrf)}"><input type="hidden" name="serial" value="{E(card.Serial)}">
                    <label class="muted"><input type="checkbox" name="confirm" value="yes"> it is lost</label> <button class="danger" type="submit">Report lost</button></form>
                    """);
            }

            html.Append("</td></tr>");
        }

        html.Append(CultureInfo.InvariantCulture, $"""
            </tbody></table>
            </section>
            <section id="machines"><h2>Computers and access keys</h2>
            <p class="muted">An access key unlocks that computer without the card (<code>cardkeep gate</code>). A new key cancels the old one and is shown once.</p>
            <table><thead><tr><th>Computer</th><th>Serial</th><th>Key issued</th><th>Key used</th><th></th></tr></thead><tbody>
            """);
        foreach (var machine in me.Machines)
        {
            html.Append(CultureInfo.InvariantCulture, $"""
                <tr><td><code>{E(machine.Id)}</code></td><td>{E(machine.Serial)}</td><td>{T(machine.AccessKeyIssuedAt)}</td><td>{T(machine.AccessKeyUsedAt)}</td>
                <td><form method="post" action="/portal/access-key"><input type="hidden" name="csrf" value="{E(csrf)}"><input type="hidden" name="machineId" value="{E(machine.Id)}">
                <button type="submit">New access key</button></form></td></tr>
                """);
        }

        string user = E(me.Username);
        html.Append(CultureInfo.InvariantCulture, $"""
            </tbody></table>
            </section>
            <section id="replace"><h2>Replace a lost or broken card</h2>
            <ol><li>Report the old card lost above (it stops working at once), or leave it if you only forgot it and want a temporary card.</li>
            <li>On your computer, with the new card in a reader, run:
            <pre>cardkeep account replace-card --server {E(server)} --user {user} --new-card CARD</pre>
            (add <code>--temporary --hours 8</code> for a forgotten card). It signs you in with the recovery password, proves the new card,
            moves your data and rights onto it, revokes the old card and stores a new access key on the computer.</li></ol>
            </section>
            {Environment(environment, offer, csrf)}
            <section id="audit"><h2>Audit log</h2>
            <p class="{(audit.ChainValid ? "notice" : "error")}" id="chain">{(audit.ChainValid ? "The log's hash chain verifies: no entry was changed or removed." : "The log's hash chain does NOT verify: entries were changed or removed. Tell your administrator.")}</p>
            <table><thead><tr><th>#</th><th>Time (UTC)</th><th>Event</th><th>Details</th></tr></thead><tbody>
            """);
        foreach (var entry in audit.Entries.Reverse())
        {
            string kind = E(entry.Kind);
            html.Append(CultureInfo.InvariantCulture, $"<tr class=\"audit-{kind}\"><td>{entry.Seq}</td><td>{T(entry.Time)}</td><td>{kind}</td><td><code>{E(entry.Details)}</code></td></tr>");
        }

        html.Append("</tbody></table></section>");
        return Layout("Your cards", csrf, html.ToString());
    }

    /// <summary>The personal environment as the server knows it: counts and sizes only (it holds ciphertext).</summary>
    private static string Environment(RecordSummaryDto summary, QuotaDto? offer, string csrf)
    {
        var quota = summary.Quota;
        string sets = summary.Sets.Count == 0 ? "none" : string.Join(", ", summary.Sets.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{E(s.Key)} ({s.Value})"));
        string keyCards = summary.Cards.Count == 0 ? "none" : string.Join(", ", summary.Cards.Select(c => $"<code>{E(c)}</code>"));
        return $"""
            <section id="environment"><h2>Personal environment</h2>
            <p class="muted">Your entries are encrypted on your computer with a key only your card unwraps: the server stores ciphertext and
            shows here what it can count. Read and edit them with <code>cardkeep env</code>.</p>
            <table><tbody>
            <tr><th>Entries</th><td id="env-entries">{summary.Entries}</td></tr>
            <tr><th>Stored</th><td>{summary.Bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes</td></tr>
            <tr><th>Quota</th><td id="env-quota">{quota.UsedEntries} of {quota.MaxEntries} entries, {quota.UsedBytes.ToString("N0", CultureInfo.InvariantCulture)} of {quota.MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes</td></tr>
            <tr><th>Sets</th><td id="env-sets">{sets}</td></tr>
            <tr><th>Conflicts to resolve</th><td id="env-conflicts">{summary.Conflicts}</td></tr>
            <tr><th>Cards that unwrap the key</th><td>{keyCards}</td></tr>
            <tr><th>Record recovery code</th><td>{(summary.RecoveryCodeSet ? "set" : "not set: run <code>cardkeep env setup</code>")}</td></tr>
            <tr><th>Last used</th><td>{T(summary.LastUsedAt is long u ? DateTimeOffset.FromUnixTimeMilliseconds(u) : null)}</td></tr>
            </tbody></table>
            {(offer is null ? "<p class=\"muted\">Your quota is at the server's maximum.</p>" : $"<form method=\"post\" action=\"/portal/quota\" id=\"quota-offer\"><input type=\"hidden\" name=\"csrf\" value=\"{E(csrf)}\"><input type=\"hidden\" name=\"maxBytes\" value=\"{offer.MaxBytes}\"><input type=\"hidden\" name=\"maxEntries\" value=\"{offer.MaxEntries}\"><button type=\"submit\">Raise my quota to {offer.MaxEntries} entries, {offer.MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes</button></form><p class=\"muted\">Or, when it is full, remove the least recently used entries instead: <code>cardkeep env quota --decline</code> lists them first.</p>")}
            </section>
            """;
    }

    public static string AccessKey(string machineId, string accessKey, string csrf) => Layout("New access key", csrf, $"""
        <section><h2>New access key for <code>{E(machineId)}</code></h2>
        <p>Write it down or print this page now: it is shown only this once. The previous key no longer works.</p>
        <p class="key" id="access-key">{E(accessKey)}</p>
        <p class="muted">Type it at the computer's login when the card is not there. After it has been used once, CardKeep replaces it with a new one.</p>
        <p><a href="/portal/account">Back to your cards</a></p></section>
        """);

    public static string Message(string title, string text) => Layout(title, null, $"<section><h2>{E(title)}</h2><p>{E(text)}</p><p><a href=\"/portal/\">Portal</a></p></section>");

    private static string Layout(string title, string? csrf, string body) => $"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{E(title)} · CardKeep portal</title><link rel="stylesheet" href="/portal/portal.css"></head>
        <body><header><h1>CardKeep portal</h1>{(csrf is null ? "" : $"<form method=\"post\" action=\"/portal/sign-out\"><input type=\"hidden\" name=\"csrf\" value=\"{E(csrf)}\"><button type=\"submit\">Sign out</button></form>")}</header>
        <main>{body}</main></body></html>
        """;

    private static string E(string? value) => HtmlEncoder.Default.Encode(value ?? "");

    private static string T(DateTimeOffset? time) => time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "";
}
