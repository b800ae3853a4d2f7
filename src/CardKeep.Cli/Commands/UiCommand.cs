using System.CommandLine;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using CardKeep.Ui;

namespace CardKeep.Cli.Commands;

/// <summary><c>cardkeep ui [--port N] [--no-browser]</c>: the card manager as a local web page (see docs/ui.md).</summary>
internal static class UiCommand
{
    public static void Add(RootCommand root)
    {
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (default: any free port)", DefaultValueFactory = _ => 0 };
        var noBrowser = new Option<bool>("--no-browser") { Description = "Only print the URL; do not launch the browser ($BROWSER, else xdg-open)" };
        var command = new Command("ui", "Serve the card manager as a web page on 127.0.0.1, opened with a one-time secret link") { Paths.StoreOption, port, noBrowser };
        command.SetAction((parse, cancellationToken) => CliSupport.GuardAsync(async () =>
        {
            int requested = parse.GetValue(port);
            if (requested is < 0 or > 65535)
            {
                throw new UsageException($"--port must be between 1 and 65535 (or 0 for any free port), not {requested}");
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });
            UiServer server;
            try
            {
                server = await UiServer.StartAsync(new UiOptions(requested, Paths.Store(parse).DirectoryPath), stop.Token).ConfigureAwait(false);
            }
            catch (IOException e) when (e.InnerException is SocketException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException($"port {requested} on 127.0.0.1 is in use; choose another or leave out --port");
            }

            await using (server.ConfigureAwait(false))
            {
                // The one place the launch secret is shown: the user's own terminal (and their browser's command line).
                Console.WriteLine($"CardKeep card manager: {server.LaunchUrl}");
                Console.WriteLine("The link works once, in one browser. Ctrl-C stops the server.");
                if (!parse.GetValue(noBrowser))
                {
                    LaunchBrowser(server.LaunchUrl);
                }

                try
                {
                    await server.WaitForShutdownAsync(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl-C or SIGTERM.
                }
            }

            Console.Error.WriteLine("CardKeep UI stopped");
            return ExitCodes.Ok;
        }));
        root.Add(command);
    }

    /// <summary>$BROWSER (the first of a colon-separated list), else xdg-open; a failure to launch is a note, not an error.</summary>
    private static void LaunchBrowser(string url)
    {
        string browser = Environment.GetEnvironmentVariable("BROWSER") is { Length: > 0 } b ? b.Split(':')[0] : "xdg-open";
        try
        {
            var start = new ProcessStartInfo(browser) { UseShellExecute = false };
            start.ArgumentList.Add(url);
            Process.Start(start)?.Dispose();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"could not launch '{browser}' ({e.Message}); open the link above yourself");
        }
    }
}
