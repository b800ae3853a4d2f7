namespace CardKeep.Cards.Tests;

/// <summary>Hex test vectors written the way the spec writes them: "7E 12 4F 0B …".</summary>
internal static class Hex
{
    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    public static string Of(ReadOnlyMemory<byte> bytes) => Convert.ToHexString(bytes.Span);
}
