using System.Globalization;
using System.Net;
using System.Text.Json;
using CardKeep.Interop.Tests.Harness;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CardKeep.Interop.Tests.Ui;

/// <summary>
/// <c>cardkeep ui</c> as a person uses it: the real program serving on 127.0.0.1, driven by headless Chromium through
/// Playwright, with a PIV card live in a reader of the private pcscd (filled with yubico-piv-tool) and VSCs in the store.
/// </summary>
public sealed class UiTests : IDisposable
{
    private const string CardPin = "123456";
    private const string TargetPin = "tgt-pin1";
    private readonly CardWorkspace _workspace = new();

    private static HttpClient Client(string? cookie)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };
        if (cookie is not null)
        {
            client.DefaultRequestHeaders.Add("Cookie", cookie);
        }

        return client;
    }

    private static async Task<HttpStatusCode> GetAsync(HttpClient client, string url, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        foreach (var (name, value) in headers)
        {
            if (name == "Host")
            {
                request.Headers.Host = value;
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task Ui_RequestsWithoutSecretFromOtherOriginsOrWithoutToken_Refused()
    {
        using var ui = UiProcess.Start(_workspace.Home);
        string origin = ui.Origin;
        using var anonymous = Client(null);
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(anonymous, origin + "/"));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(anonymous, origin + "/events"));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(anonymous, origin + "/?k=" + new string('A', 43)));

        // The right secret from another site's page, or to another host name, is refused and stays unspent.
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(anonymous, ui.LaunchUrl.AbsoluteUri, ("Origin", "http://evil.example")));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(anonymous, ui.LaunchUrl.AbsoluteUri, ("Host", "localhost:" + ui.Port.ToString(CultureInfo.InvariantCulture))));

        // The secret once: a session cookie (HttpOnly, SameSite=Strict, Path=/) and a redirect to the URL without it.
        using var first = await anonymous.GetAsync(ui.LaunchUrl);
        Assert.Equal(HttpStatusCode.Found, first.StatusCode);
        Assert.Equal("/", first.Headers.Location?.OriginalString);
        string setCookie = Assert.Single(first.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(anonymous, ui.LaunchUrl.AbsoluteUri)); // spent

        using var session = Client(setCookie.Split(';')[0]);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(session, origin + "/"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(session, origin + "/vscs", ("Origin", origin), ("Referer", origin + "/")));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(session, origin + "/", ("Origin", "http://evil.example")));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(session, origin + "/", ("Origin", "null")));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(session, origin + "/", ("Referer", "http://127.0.0.1:1/")));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(session, origin + "/", ("Host", "localhost:" + ui.Port.ToString(CultureInfo.InvariantCulture))));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(session, origin + "/", ("Host", "rebound.example:" + ui.Port.ToString(CultureInfo.InvariantCulture))));

        // A state-changing POST without the anti-forgery token.
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["id"] = "anything" });
        using var post = await session.PostAsync(origin + "/vscs?handler=Enable", form);
        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);

        // A browser without the cookie gets the refusal too.
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await chromium.PageAsync();
        var response = await page.GotoAsync(origin + "/");
        Assert.Equal(403, response!.Status);
    }

    [Fact]
    public async Task Ui_ListOpenCopyPasteSaveDisableEnableEject_WorksInChromium()
    {
        using var slot = SlotLease.Acquire();
        using var tools = new PivTools(slot.Reader);
        using var card = _workspace.NewCard("alice");
        using var live = new LinkedCard(slot, new PivApplet(card));
        await tools.PopulateSampleAsync();
        var created = await _workspace.CardKeepAsync(new Dictionary<string, string?> { ["CARDKEEP_PIN"] = TargetPin, ["CARDKEEP_PUK"] = "tgt-puk1" },
            "vsc", "new", "--id", "backup-target", "--label", "Alice backup");
        Assert.True(created.ExitCode == 0, created.ToString());

        await File.WriteAllBytesAsync(Path.Combine(_workspace.Store, "broken.vsc"), "not a VSC file"u8.ToArray());

        using var ui = UiProcess.Start(_workspace.Home);
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = await chromium.PageAsync();
        string readerRow = $"tr[data-address='reader:{slot.Reader}']";

        // 1. The list: the card in its reader (labelled by its certificate) and the VSC in the store.
        await page.GotoAsync(ui.LaunchUrl.AbsoluteUri);
        Assert.Equal(ui.Origin + "/", page.Url); // the secret left the address bar
        await Expect(page.Locator(readerRow)).ToContainTextAsync("Alice Example", new() { Timeout = 20_000 });
        await Expect(page.Locator("tr[data-address='vsc:backup-target']")).ToContainTextAsync("enabled");
        await Expect(page.Locator("tr[data-address='vsc:broken']")).ToHaveAttributeAsync("data-state", "damaged");
        await Expect(page.Locator("tr[data-address='vsc:broken'] a")).ToHaveCountAsync(0); // listed, not openable
        await HeadlessChromium.ScreenshotAsync(page, "cards");

        // 2. The card's page: public objects; a wrong PIN says the tries left; the right one opens the private area.
        await page.Locator(readerRow + " a").ClickAsync();
        await Expect(page.Locator("#objects")).ToContainTextAsync("CN=Alice Example");
        await Expect(page.Locator("#objects")).ToContainTextAsync("https://mail.example.com");
        await Expect(page.Locator("tr[data-tag='5FC109']")).ToHaveCountAsync(0);
        await page.GetByLabel("PIN", new() { Exact = true }).FillAsync("999999");
        await page.GetByRole(AriaRole.Button, new() { Name = "Open private area" }).ClickAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("Wrong PIN: 2 tries left");
        await HeadlessChromium.ScreenshotAsync(page, "card-wrong-pin");
        await page.GetByLabel("PIN", new() { Exact = true }).FillAsync(CardPin);
        await page.GetByRole(AriaRole.Button, new() { Name = "Open private area" }).ClickAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("the private area is open");
        await Expect(page.Locator("tr[data-tag='5FC109']")).ToContainTextAsync("private (PIN)");

        // 3. Copy the URL list and the (private) printed information.
        await page.Locator("tr[data-tag='5FFF10'] input[type=checkbox]").CheckAsync();
        await page.Locator("tr[data-tag='5FC109'] input[type=checkbox]").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy selected" }).ClickAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("Copied 2 objects");
        await HeadlessChromium.ScreenshotAsync(page, "card");

        // 4. Paste into the VSC (its PIN for the private object), then save the pasted URL list to a file.
        await page.GetByRole(AriaRole.Link, new() { Name = "Cards", Exact = true }).ClickAsync();
        await page.Locator("tr[data-address='vsc:backup-target'] a").ClickAsync();
        await Expect(page.Locator("#clipboard")).ToContainTextAsync("Printed Information");
        await page.GetByLabel("PIN of this card").FillAsync(TargetPin);
        await page.GetByRole(AriaRole.Button, new() { Name = "Paste", Exact = true }).ClickAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("Pasted 2 objects into vsc:backup-target");
        await Expect(page.Locator("tr[data-tag='5FFF10']")).ToContainTextAsync("https://intranet.example.com");
        await HeadlessChromium.ScreenshotAsync(page, "vsc-pasted");
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("tr[data-tag='5FFF10'] button").ClickAsync());
        string saved = Path.Combine(_workspace.Home, "saved-urls.txt");
        await download.SaveAsAsync(saved);
        Assert.Equal(PivTools.SampleUrls, await File.ReadAllTextAsync(saved));

        // 5. The VSC manager: disable (after confirming), enable; a new VSC named after the card's serial.
        await page.GetByRole(AriaRole.Link, new() { Name = "VSC manager" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Disable backup-target" }).ClickAsync();
        await Expect(page.Locator("#confirm")).ToContainTextAsync("Disable backup-target?");
        await Expect(page.Locator("tr[data-id='backup-target']")).ToHaveAttributeAsync("data-state", "enabled");
        await HeadlessChromium.ScreenshotAsync(page, "vscs-confirm-disable");
        await page.Locator("#confirm-disable").ClickAsync();
        await Expect(page.Locator("tr[data-id='backup-target']")).ToHaveAttributeAsync("data-state", "disabled");
        Assert.Equal(VscState.Disabled, StoreState("backup-target"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Enable backup-target" }).ClickAsync();
        await Expect(page.Locator("tr[data-id='backup-target']")).ToHaveAttributeAsync("data-state", "enabled");
        Assert.Equal(VscState.Enabled, StoreState("backup-target"));

        string serialId = "VSC-" + card.Serial.ToString(CultureInfo.InvariantCulture);
        await page.GetByLabel("Card", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Value = "reader:" + slot.Reader });
        await page.GetByLabel("PIN of the new VSC").FillAsync("new-pin1");
        await page.GetByLabel("PIN again").FillAsync("new-pin1");
        await page.GetByLabel("PUK of the new VSC").FillAsync("new-puk1");
        await page.GetByLabel("PUK again").FillAsync("new-puk1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create VSC" }).ClickAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("Created " + serialId);
        await Expect(page.Locator($"tr[data-id='{serialId}']")).ToContainTextAsync("backup");

        // Export, then import the file back over the original.
        var exported = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Export backup-target" }).ClickAsync());
        string exportFile = Path.Combine(_workspace.Home, "exported.vsc");
        await exported.SaveAsAsync(exportFile);
        Assert.Equal("backup-target.vsc", exported.SuggestedFilename);
        await page.Locator("#import-file").SetInputFilesAsync(exportFile);
        await page.GetByLabel("Replace a VSC with the same Id").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Import", Exact = true }).ClickAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("Imported backup-target");
        await HeadlessChromium.ScreenshotAsync(page, "vscs");

        // 6. The card leaves its reader: its row goes away without a reload; a VSC made meanwhile has come in.
        await page.GetByRole(AriaRole.Link, new() { Name = "Cards", Exact = true }).ClickAsync();
        await Expect(page.Locator(readerRow)).ToHaveCountAsync(1);
        await Expect(page.Locator($"tr[data-address='vsc:{serialId}']")).ToHaveCountAsync(1);
        await page.EvaluateAsync("() => { window.cardkeepNoReload = true; }");
        live.Eject();
        await Expect(page.Locator(readerRow)).ToHaveCountAsync(0, new() { Timeout = 15_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.cardkeepNoReload === true"), "the page reloaded");
        await Expect(page.Locator("#live")).ToContainTextAsync("Alice Example removed");
        await Expect(page.Locator("tr[data-address='vsc:backup-target']")).ToHaveCountAsync(1);

        // The command line reads what the UI pasted, from the same store.
        var show = await _workspace.CardKeepAsync(new Dictionary<string, string?> { ["CARDKEEP_PIN"] = TargetPin }, "card", "show", "vsc:backup-target", "--json");
        Assert.True(show.ExitCode == 0, show.ToString());
        var tags = JsonDocument.Parse(show.StdOut).RootElement.GetProperty("objects").EnumerateArray().Select(o => o.GetProperty("tag").GetString()).ToList();
        Assert.Contains("5FFF10", tags);
        Assert.Contains("5FC109", tags);
    }

    private VscState? StoreState(string id) => new VscStore(_workspace.Store).List().Single(l => l.Id == id).State;

    public void Dispose() => _workspace.Dispose();
}
