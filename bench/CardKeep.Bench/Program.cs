using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Running;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.PcSc;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Link;

namespace CardKeep.Bench;

/// <summary>
/// End-to-end and micro benchmarks. Modes:
///   transport --reader R [--setup HEX] [--apdu HEX] [--seconds N]   APDU round trips per second through pcscd
///   serve-fixed --port P                             put the 9000-only card into a vpcd slot until killed
///   micro [BenchmarkDotNet args]                     in-process micro-benchmarks
///   trk1 [--seconds N] [--warmup N] [--clients N]      TRK1 registrations/s (R, E) and sessions/s: crypto-only and end to end over loopback
///   agent / agent-card                               SSH agent signatures (see <see cref="AgentBench"/>)
///   env [--entries N] [--rounds N]                   personal environment: records synced/s, card entries written and read/s (see <see cref="EnvBench"/>)
///   load --cardkeep DLL [--db CONN] [--mix M] [--clients N] [--seconds N] [--warmup N] [--users N] [--accounts N] [--records N]
///                                                    load generator against a separate server process (see <see cref="LoadBench"/>)
/// bench/vsc.sh and bench/agent.sh run the side-by-side comparisons in a private pcscd.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "help";
        var options = ParseOptions(args.Skip(1).ToArray());
        switch (mode)
        {
            case "transport":
                return Transport(options["--reader"], options.GetValueOrDefault("--setup"), options.GetValueOrDefault("--apdu", "00A4000C023F00"), double.Parse(options.GetValueOrDefault("--seconds", "5"), CultureInfo.InvariantCulture));
            case "serve-fixed":
                using (var link = new VpcdLink(new FixedAnswerCard(), int.Parse(options["--port"], CultureInfo.InvariantCulture)))
                {
                    await link.RunAsync();
                }

                return 0;
            case "trk1":
                return await Trk1Bench.RunAsync(
                    double.Parse(options.GetValueOrDefault("--seconds", "10"), CultureInfo.InvariantCulture),
                    double.Parse(options.GetValueOrDefault("--warmup", "3"), CultureInfo.InvariantCulture),
                    int.Parse(options.GetValueOrDefault("--clients", "4"), CultureInfo.InvariantCulture));
            case "load" when OperatingSystem.IsLinux():
                return await LoadBench.RunAsync(options["--cardkeep"], options.GetValueOrDefault("--db"), options.GetValueOrDefault("--mix", "default"),
                    int.Parse(options.GetValueOrDefault("--clients", "32"), CultureInfo.InvariantCulture),
                    double.Parse(options.GetValueOrDefault("--seconds", "20"), CultureInfo.InvariantCulture),
                    double.Parse(options.GetValueOrDefault("--warmup", "5"), CultureInfo.InvariantCulture),
                    int.Parse(options.GetValueOrDefault("--users", "200"), CultureInfo.InvariantCulture),
                    int.Parse(options.GetValueOrDefault("--accounts", "64"), CultureInfo.InvariantCulture),
                    int.Parse(options.GetValueOrDefault("--records", "20"), CultureInfo.InvariantCulture));
            case "agent" when OperatingSystem.IsLinux():
                return AgentBench.SideBySide(Values(args, "--socket"), Values(args, "--key"), Seconds(options));
            case "agent-card" when OperatingSystem.IsLinux():
                return AgentBench.Card(options["--reader"], options["--socket"], options["--key"], options["--pin"], Seconds(options));
            case "env":
                return await EnvBench.RunAsync(int.Parse(options.GetValueOrDefault("--entries", "500"), CultureInfo.InvariantCulture), int.Parse(options.GetValueOrDefault("--rounds", "50"), CultureInfo.InvariantCulture));
            case "micro":
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args.Skip(1).ToArray());
                return 0;
            default:
                Console.Error.WriteLine("usage: CardKeep.Bench transport --reader R [--setup HEX] [--apdu HEX] [--seconds N] | serve-fixed --port P | micro"
                    + " | trk1 [--seconds N] [--warmup N] [--clients N] | env [--entries N] [--rounds N]"
                    + " | load --cardkeep DLL [--db CONN] [--mix default|admin|sessions|records|recovery] [--clients N] [--seconds N] [--warmup N] [--users N] [--accounts N] [--records N]"
                    + " | agent --socket NAME=PATH… --key PUB… [--seconds N] | agent-card --reader R --socket PATH --key PUB --pin PIN [--seconds N]");
                return 2;
        }
    }

    private static double Seconds(Dictionary<string, string> options) => double.Parse(options.GetValueOrDefault("--seconds", "5"), CultureInfo.InvariantCulture);

    /// <summary>Every value of a repeatable option.</summary>
    private static List<string> Values(string[] args, string name) =>
        [.. args.Select((a, i) => (a, i)).Where(p => p.a == name && p.i + 1 < args.Length).Select(p => args[p.i + 1])];

    private static Dictionary<string, string> ParseOptions(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i]] = args[i + 1];
        }

        return options;
    }

    private static int Transport(string reader, string? setupHex, string apduHex, double seconds)
    {
        var apdu = CommandApdu.Parse(Convert.FromHexString(apduHex));
        using var context = PcscContext.Establish();
        using var card = context.Connect(context.ResolveReader(reader));
        using var transaction = card.BeginTransaction();
        if (setupHex is not null)
        {
            card.Transmit(CommandApdu.Parse(Convert.FromHexString(setupHex))).ThrowIfNotSuccess("setup APDU");
        }

        // Warm up (JIT, first connection set-up in pcscd).
        for (int i = 0; i < 50; i++)
        {
            card.Transmit(apdu);
        }

        var latencies = new List<double>(100_000);
        var total = Stopwatch.StartNew();
        var one = new Stopwatch();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            one.Restart();
            var response = card.Transmit(apdu);
            latencies.Add(one.Elapsed.TotalMicroseconds);
            if (response.StatusWord.Sw1 is 0x6F or 0x6E or 0x6D)
            {
                Console.Error.WriteLine($"card answered {response.StatusWord}");
                return 1;
            }
        }

        total.Stop();
        latencies.Sort();
        double perSecond = latencies.Count / total.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{reader}\t{apduHex}\t{latencies.Count} APDUs in {total.Elapsed.TotalSeconds:F1} s\t{perSecond:F0} APDU/s\tp50 {latencies[latencies.Count / 2]:F0} µs\tp99 {latencies[(int)(latencies.Count * 0.99)]:F0} µs"));
        return 0;
    }
}
