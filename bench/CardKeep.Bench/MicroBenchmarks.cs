using BenchmarkDotNet.Attributes;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Bench;

/// <summary>Parsing costs of the shared card model (per APDU on both sides of every exchange).</summary>
[MemoryDiagnoser]
public class ApduBenchmarks
{
    private readonly byte[] _getData = Convert.FromHexString("00CB3FFF055C035FC10200");
    private readonly byte[] _generalAuthenticate = BerTlv.Encode(0x7C, [.. BerTlv.Encode(0x82, []), .. BerTlv.Encode(0x81, new byte[256])]);

    [Benchmark]
    public CommandApdu ParseGetData() => CommandApdu.Parse(_getData);

    [Benchmark]
    public int ParseGeneralAuthenticateTemplate() => BerTlv.ParseSingle(_generalAuthenticate).Children.Count;
}
