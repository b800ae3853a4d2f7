using Microsoft.Playwright;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>
/// Debian's <c>/usr/bin/chromium</c>, headless, driven by Microsoft.Playwright (its driver ships in the NuGet package;
/// no browser is downloaded). Each instance has a fresh profile folder, deleted on dispose.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";
    private readonly IPlaywright _playwright;
    private readonly string _profile;

    private HeadlessChromium(IPlaywright playwright, IBrowserContext context, string profile)
    {
        _playwright = playwright;
        Context = context;
        _profile = profile;
    }

    public IBrowserContext Context { get; }

    public static async Task<HeadlessChromium> LaunchAsync()
    {
        Assert.True(File.Exists(ExecutablePath), $"{ExecutablePath} is missing: scripts/setup.sh installs Debian's chromium");
        string profile = Directory.CreateTempSubdirectory("cardkeep-chromium-").FullName;
        var playwright = await Playwright.CreateAsync();
        try
        {
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
                AcceptDownloads = true,
                ViewportSize = new ViewportSize { Width = 1200, Height = 900 },
            });
            context.SetDefaultTimeout(30_000);
            return new HeadlessChromium(playwright, context, profile);
        }
        catch
        {
            playwright.Dispose();
            Directory.Delete(profile, recursive: true);
            throw;
        }
    }

    /// <summary>The page the persistent context opened with.</summary>
    public async Task<IPage> PageAsync() => Context.Pages.Count > 0 ? Context.Pages[0] : await Context.NewPageAsync();

    /// <summary>A full-page screenshot into the test artifacts (<c>$CARDKEEP_TEST_ARTIFACTS/ui/NAME.png</c>).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        ArgumentNullException.ThrowIfNull(page);
        string folder = Path.Combine(PrivatePcscd.ArtifactsDirectory, "ui");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        _playwright.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium's last writes may still be landing; the temp folder is cleaned with the machine.
        }
    }
}
