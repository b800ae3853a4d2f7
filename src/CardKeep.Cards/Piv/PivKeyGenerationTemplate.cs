using System.Globalization;
using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

/// <summary>
/// The data field of GENERATE ASYMMETRIC KEY PAIR (INS 47): control reference template
/// <c>AC { 80 01 alg [AA 01 pin-policy] [AB 01 touch-policy] }</c>. Default policies are left out.
/// </summary>
/// <param name="Algorithm">Key algorithm (tag 80).</param>
/// <param name="Policy">PIN policy (tag AA) and touch policy (tag AB).</param>
public sealed record PivKeyGenerationTemplate(PivAlgorithm Algorithm, PivKeyPolicy Policy = default)
{
    private const uint Tag = 0xAC;
    private const uint TagAlgorithm = 0x80;
    internal const uint TagPinPolicy = 0xAA;
    internal const uint TagTouchPolicy = 0xAB;

    /// <summary>Encodes the template, e.g. <c>AC 03 80 01 11</c>.</summary>
    public byte[] Encode()
    {
        if (!Algorithm.IsAsymmetric())
        {
            throw new ArgumentOutOfRangeException(nameof(Algorithm), Algorithm, "GENERATE needs an asymmetric algorithm");
        }

        var writer = new TlvWriter();
        using (writer.Push(Tag))
        {
            writer.Write(TagAlgorithm, [(byte)Algorithm]);
            WritePolicy(writer, Policy);
        }

        return writer.ToArray();
    }

    /// <summary>Parses the template. Raises <see cref="CardFormatException"/> for a missing or malformed 80/AA/AB.</summary>
    public static PivKeyGenerationTemplate Parse(ReadOnlyMemory<byte> data)
    {
        var root = BerTlv.ParseSingle(data);
        if (root.Tag != Tag)
        {
            throw new CardFormatException("GENERATE template", 0, string.Create(CultureInfo.InvariantCulture, $"expected tag AC, found {root.Tag:X}"));
        }

        var algorithm = root.Get(TagAlgorithm);
        if (algorithm.Value.Length != 1)
        {
            throw new CardFormatException("GENERATE template", algorithm.Offset, "algorithm (80) must be one byte");
        }

        return new PivKeyGenerationTemplate((PivAlgorithm)algorithm.Value.Span[0], ReadPolicy(root.Children));
    }

    internal static void WritePolicy(TlvWriter writer, PivKeyPolicy policy)
    {
        if (policy.Pin != PinPolicy.Default)
        {
            writer.Write(TagPinPolicy, [(byte)policy.Pin]);
        }

        if (policy.Touch != TouchPolicy.Default)
        {
            writer.Write(TagTouchPolicy, [(byte)policy.Touch]);
        }
    }

    internal static PivKeyPolicy ReadPolicy(IEnumerable<TlvNode> nodes)
    {
        byte pin = 0, touch = 0;
        foreach (var node in nodes)
        {
            if (node.Tag is TagPinPolicy or TagTouchPolicy)
            {
                if (node.Value.Length != 1)
                {
                    throw new CardFormatException("key policy", node.Offset, string.Create(CultureInfo.InvariantCulture, $"tag {node.Tag:X} must hold one byte"));
                }

                if (node.Tag == TagPinPolicy)
                {
                    pin = node.Value.Span[0];
                }
                else
                {
                    touch = node.Value.Span[0];
                }
            }
        }

        if (!Enum.IsDefined((PinPolicy)pin) || !Enum.IsDefined((TouchPolicy)touch))
        {
            throw new CardFormatException(string.Create(CultureInfo.InvariantCulture, $"key policy: unknown PIN policy {pin} or touch policy {touch}"));
        }

        return new PivKeyPolicy((PinPolicy)pin, (TouchPolicy)touch);
    }
}
