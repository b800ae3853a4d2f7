using System.CommandLine;
using System.Globalization;
using CardKeep.Cards.Channels;
using CardKeep.Cards.Files;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.PcSc;
using Spectre.Console;

namespace CardKeep.Cli.Commands;

/// <summary><c>cardkeep readers | monitor | apdu | files</c>: the card access layer on the command line.</summary>
internal static class ReaderCommands
{
    public static void Add(RootCommand root)
    {
        root.Add(Readers());
        root.Add(Monitor());
        root.Add(Apdu());
        root.Add(Files());
    }

    private static Command Readers()
    {
        var command = new Command("readers", "List PC/SC readers, whether a card is present, and its ATR") { CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            using var context = PcscContext.Establish();
            var statuses = context.GetReaderStatuses();
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(statuses.Select((s, i) => new
                {
                    index = i,
                    name = s.Name,
                    cardPresent = s.CardPresent,
                    atr = s.CardPresent ? s.AtrHex : null,
                    state = s.State.ToString(),
                }));
                return ExitCodes.Ok;
            }

            if (statuses.Count == 0)
            {
                Console.WriteLine("No readers. Is a reader plugged in, or vpcd installed (package vsmartcard-vpcd)?");
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("#", "Reader", "Card", "ATR");
            for (int i = 0; i < statuses.Count; i++)
            {
                var s = statuses[i];
                table.AddRow(i.ToString(CultureInfo.InvariantCulture), Markup.Escape(s.Name), s.CardPresent ? "yes" : "no", s.CardPresent ? s.AtrHex : string.Empty);
            }

            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Monitor()
    {
        var noInitial = new Option<bool>("--no-initial") { Description = "Do not report cards already present at start" };
        var timeout = new Option<double?>("--timeout") { Description = "Stop after this many seconds (default: run until Ctrl-C)" };
        var command = new Command("monitor", "Print card insert/remove and reader attach/detach events until Ctrl-C") { CliSupport.JsonOption, noInitial, timeout };
        command.SetAction((parse, cancellationToken) => CliSupport.GuardAsync(async () =>
        {
            bool json = parse.GetValue(CliSupport.JsonOption);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (parse.GetValue(timeout) is double seconds)
            {
                stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            }

            // Fail fast with the pcscd hint if the service is not there.
            using (PcscContext.Establish())
            {
            }

            using var monitor = new CardMonitor();
            var done = new TaskCompletionSource();
            monitor.Changed += (_, e) =>
            {
                string line = json
                    ? System.Text.Json.JsonSerializer.Serialize(new { at = e.At.ToString("O", CultureInfo.InvariantCulture), kind = e.Kind, reader = e.Reader, atr = e.Atr.IsEmpty ? null : e.AtrHex }, CliSupport.Json).ReplaceLineEndings(string.Empty)
                    : $"{e.At:yyyy-MM-ddTHH:mm:ss.fffZ} {Describe(e.Kind)} '{e.Reader}'{(e.Atr.IsEmpty ? string.Empty : " ATR " + e.AtrHex)}";
                Console.Out.WriteLine(line);
                Console.Out.Flush();
            };
            monitor.Failed += (_, e) => Console.Error.WriteLine($"warning: {e.Message} (retrying)");
            monitor.Ready += (_, _) =>
            {
                if (!json)
                {
                    Console.Error.WriteLine("monitoring; press Ctrl-C to stop");
                }
            };
            using var registration = stop.Token.Register(() => done.TrySetResult());
            monitor.Start(reportPresent: !parse.GetValue(noInitial), stop.Token);
            await done.Task.ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Describe(CardEventKind kind) => kind switch
    {
        CardEventKind.CardInserted => "inserted",
        CardEventKind.CardRemoved => "removed",
        CardEventKind.ReaderAttached => "reader-attached",
        CardEventKind.ReaderDetached => "reader-detached",
        _ => kind.ToString(),
    };

    private static Command Apdu()
    {
        var reader = CliSupport.ReaderOption();
        var apdus = new Argument<string[]>("APDU") { Description = "Command APDUs in hex, one per argument (spaces or colons between bytes allowed)", Arity = ArgumentArity.OneOrMore };
        var raw = new Option<bool>("--raw") { Description = "Do not follow 61xx with GET RESPONSE or retry 6Cxx; show each exchange as the card gave it" };
        var exclusive = new Option<bool>("--exclusive") { Description = "Connect exclusively (no other client may use the card meanwhile)" };
        var command = new Command("apdu", "Send APDUs to a card and print the response data and status word") { reader, apdus, raw, exclusive, CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            // Parse everything before connecting: a malformed APDU means nothing is sent.
            var commands = new List<CommandApdu>();
            foreach (string text in parse.GetValue(apdus) ?? [])
            {
                byte[] bytes = CliSupport.ParseHex(text, "APDU");
                try
                {
                    commands.Add(CommandApdu.Parse(bytes));
                }
                catch (Cards.CardFormatException e)
                {
                    throw new UsageException($"APDU '{text}' is malformed: {e.Message}; nothing was sent");
                }
            }

            using var context = PcscContext.Establish();
            string name = CliSupport.ResolveReader(context, parse.GetValue(reader)!);
            using var card = context.Connect(name, parse.GetValue(exclusive) ? ShareMode.Exclusive : ShareMode.Shared);
            ICardChannel channel = parse.GetValue(raw) ? card : new IsoChannel(card, ownsInner: false);
            bool json = parse.GetValue(CliSupport.JsonOption);
            var results = new List<object>();
            bool allOk = true;
            using (card.BeginTransaction())
            {
                foreach (var apdu in commands)
                {
                    var response = channel.Transmit(apdu);
                    allOk &= response.IsSuccess;
                    if (json)
                    {
                        results.Add(new { command = apdu.ToString(), data = CliSupport.Hex(response.Data.Span), sw = response.StatusWord.Value.ToString("X4", CultureInfo.InvariantCulture), name = response.StatusWord.Name, meaning = response.StatusWord.Meaning });
                    }
                    else
                    {
                        Console.WriteLine($"> {apdu}");
                        if (!response.Data.IsEmpty)
                        {
                            Console.WriteLine($"< {CliSupport.Hex(response.Data.Span)}");
                        }

                        Console.WriteLine($"< {response.StatusWord.Value:X4} {response.StatusWord.Name} ({response.StatusWord.Meaning})");
                    }
                }
            }

            if (json)
            {
                CliSupport.WriteJson(new { reader = name, atr = CliSupport.Hex(card.Atr.Span), responses = results });
            }

            return allOk ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return command;
    }

    private static Command Files()
    {
        var reader = CliSupport.ReaderOption();
        var dump = new Option<bool>("--dump") { Description = "Print the contents of every file found" };
        var scan = new Option<string[]>("--scan") { Description = "Also probe these FIDs under the MF: single FIDs or ranges, e.g. 1000-10FF (repeatable)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("files", "Walk and print the ISO 7816-4 files and applications a card exposes") { reader, dump, scan, CliSupport.JsonOption };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var fids = ParseFidRanges(parse.GetValue(scan) ?? []);
            using var context = PcscContext.Establish();
            string name = CliSupport.ResolveReader(context, parse.GetValue(reader)!);
            using var card = context.Connect(name);
            var client = new IsoFileClient(card);
            IReadOnlyList<CardFileEntry> entries;
            using (card.BeginTransaction())
            {
                entries = new FileExplorer(client) { Dump = parse.GetValue(dump), ScanFids = fids }.Walk();
            }

            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(new
                {
                    reader = name,
                    atr = CliSupport.Hex(card.Atr.Span),
                    card = client.Quirks.CardName,
                    files = entries.Select(e => new
                    {
                        path = e.Path,
                        kind = e.Kind,
                        name = e.Name,
                        size = e.Size,
                        content = e.Content is null ? null : CliSupport.Hex(e.Content),
                        records = e.Records?.Select(r => CliSupport.Hex(r)),
                        note = e.Note,
                    }),
                });
                return ExitCodes.Ok;
            }

            Console.WriteLine($"{name}: ATR {CliSupport.Hex(card.Atr.Span)} ({client.Quirks.CardName})");
            if (entries.Count == 0)
            {
                Console.WriteLine("  no MF and none of the known applications answered");
            }

            foreach (var e in entries)
            {
                string size = e.Size is int s ? string.Create(CultureInfo.InvariantCulture, $", {s} bytes") : string.Empty;
                Console.WriteLine($"  {e.Path,-32} {Describe(e.Kind)}{size}{(e.Name is null ? string.Empty : "  " + e.Name)}{(e.Note is null ? string.Empty : "  (" + e.Note + ")")}");
                if (e.Content is not null)
                {
                    Console.WriteLine($"      {CliSupport.Hex(e.Content)}");
                }

                foreach (var (record, i) in (e.Records ?? []).Select((r, i) => (r, i)))
                {
                    Console.WriteLine($"      record {i + 1}: {CliSupport.Hex(record)}");
                }
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Describe(CardFileKind kind) => kind switch
    {
        CardFileKind.Application => "application",
        CardFileKind.Directory => "DF",
        CardFileKind.TransparentEf => "EF (transparent)",
        CardFileKind.RecordEf => "EF (records)",
        _ => "file (type unknown)",
    };

    internal static IReadOnlyList<ushort> ParseFidRanges(IEnumerable<string> specs)
    {
        var fids = new List<ushort>();
        foreach (string spec in specs.SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            string[] parts = spec.Split('-', 2);
            ushort first = ParseFid(parts[0], spec);
            ushort last = parts.Length == 2 ? ParseFid(parts[1], spec) : first;
            if (last < first)
            {
                throw new UsageException($"FID range '{spec}' ends before it starts");
            }

            if (last - first >= 4096)
            {
                throw new UsageException($"FID range '{spec}' spans more than 4096 FIDs; scan it in pieces");
            }

            for (int fid = first; fid <= last; fid++)
            {
                fids.Add((ushort)fid);
            }
        }

        return fids;
    }

    private static ushort ParseFid(string text, string spec) =>
        text.Length == 4 && ushort.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort fid)
            ? fid
            : throw new UsageException($"'{text}' in '{spec}' is not a 4-digit hex FID");
}
