using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Link;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Cli.Commands;

/// <summary><c>cardkeep vsc insert | eject</c>: a VSC live in a vpcd reader slot, as a PIV card for any PC/SC client.</summary>
internal static partial class VscCommands
{
    static partial void AddLive(Command vsc)
    {
        vsc.Add(Insert());
        vsc.Add(Eject());
    }

    private static Command Insert()
    {
        var slot = new Option<int>("--slot") { Description = "vpcd slot: port 35963 + slot (Debian's vpcd has slots 0 and 1: readers 'Virtual PCD 00 00' and '00 01')", DefaultValueFactory = _ => 0 };
        var port = new Option<int?>("--port") { Description = "vpcd TCP port (overrides --slot)" };
        var command = new Command("insert", "Insert a VSC into a vpcd reader slot of pcscd and answer as a PIV card until Ctrl-C or 'vsc eject'") { VscArgument, slot, port };
        command.SetAction((parse, cancellationToken) => CliSupport.GuardAsync(async () =>
        {
            var store = Paths.Store(parse);
            using var card = store.Open(parse.GetValue(VscArgument)!);
            if (card.Header.State != VscState.Enabled)
            {
                throw new UsageException($"VSC {card.Header.Id} is disabled; enable it first with 'cardkeep vsc enable {card.Header.Id}'");
            }

            int tcpPort = parse.GetValue(port) ?? VpcdLink.PortForSlot(parse.GetValue(slot));
            string marker = MarkerPath(store, card.Header.Id);
            await File.WriteAllTextAsync(marker, JsonSerializer.Serialize(new InsertedMarker(Environment.ProcessId, tcpPort)), cancellationToken).ConfigureAwait(false);
            File.SetUnixFileMode(marker, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            try
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
                {
                    context.Cancel = true;
                    stop.Cancel();
                });
                using var link = new VpcdLink(new PivApplet(card), tcpPort);
                Console.Error.WriteLine($"inserting {card.Header.Id} (serial {card.Serial}) at vpcd 127.0.0.1:{tcpPort}; Ctrl-C or 'cardkeep vsc eject {card.Header.Id}' removes it");
                await link.RunAsync(stop.Token).ConfigureAwait(false);
                if (!stop.IsCancellationRequested)
                {
                    Console.Error.WriteLine("error: vpcd closed the connection (pcscd stopped?); the card is out");
                    return ExitCodes.Failed;
                }

                Console.Error.WriteLine($"{card.Header.Id} ejected");
                return ExitCodes.Ok;
            }
            finally
            {
                File.Delete(marker);
            }
        }));
        return command;
    }

    private static Command Eject()
    {
        var command = new Command("eject", "Remove an inserted VSC from its reader (stops the 'vsc insert' that holds it)") { VscArgument };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var store = Paths.Store(parse);
            string id = parse.GetValue(VscArgument)!;
            string marker = MarkerPath(store, id);
            InsertedMarker? inserted = File.Exists(marker) ? JsonSerializer.Deserialize<InsertedMarker>(File.ReadAllText(marker)) : null;
            if (inserted is null || !ProcessAlive(inserted.Pid))
            {
                throw new UsageException($"VSC {id} is not inserted");
            }

            if (Kill(inserted.Pid, 15) != 0)
            {
                throw new UsageException($"cannot stop process {inserted.Pid} holding VSC {id} (not yours?)");
            }

            for (int i = 0; i < 100 && ProcessAlive(inserted.Pid); i++)
            {
                Thread.Sleep(50);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ejected {id} from vpcd port {inserted.Port}"));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private sealed record InsertedMarker(int Pid, int Port);

    private static string MarkerPath(VscStore store, string id) => Path.Combine(store.DirectoryPath, id + ".inserted");

    private static bool ProcessAlive(int pid) => Directory.Exists($"/proc/{pid}");

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
