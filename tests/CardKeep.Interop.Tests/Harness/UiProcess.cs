using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace CardKeep.Interop.Tests.Harness;

/// <summary>The real <c>cardkeep ui --no-browser --port N</c> as a child process, with the URL it printed.</summary>
public sealed partial class UiProcess : IDisposable
{
    private readonly LiveProcess _process;

    private UiProcess(LiveProcess process, Uri launchUrl)
    {
        _process = process;
        LaunchUrl = launchUrl;
    }

    /// <summary>The printed URL, with the one-time launch secret.</summary>
    public Uri LaunchUrl { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>.</summary>
    public string Origin => LaunchUrl.GetLeftPart(UriPartial.Authority);

    public int Port => LaunchUrl.Port;

    /// <summary>Starts the UI for the data folder <paramref name="home"/> (CARDKEEP_HOME; XDG_RUNTIME_DIR is its run/ folder).</summary>
    public static UiProcess Start(string home)
    {
        string runtime = Path.Combine(home, "run");
        Directory.CreateDirectory(runtime);
        var process = LiveProcess.Start("dotnet", [CardKeepCli.DllPath, "ui", "--no-browser", "--port", FreePort().ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string?> { ["CARDKEEP_HOME"] = home, ["XDG_RUNTIME_DIR"] = runtime });
        try
        {
            string line = process.WaitForLine(l => UrlPattern().IsMatch(l), TimeSpan.FromSeconds(60));
            return new UiProcess(process, new Uri(UrlPattern().Match(line).Value));
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>A port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:[0-9]+/\?k=[A-Za-z0-9_-]{43}")]
    private static partial Regex UrlPattern();

    public void Dispose() => _process.Dispose();
}
