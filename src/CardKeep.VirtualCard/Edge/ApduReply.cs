using CardKeep.Cards.Iso7816;

namespace CardKeep.VirtualCard.Edge;

/// <summary>What a card command handler answers: response data (only with 9000) and the status word.</summary>
/// <param name="Data">The response data; empty for errors and for commands without output.</param>
/// <param name="Status">The status word.</param>
internal readonly record struct ApduReply(byte[] Data, StatusWord Status)
{
    /// <summary>9000 without data.</summary>
    public static ApduReply Ok => new([], StatusWord.Success);

    /// <summary>9000 with <paramref name="data"/>.</summary>
    public static ApduReply Success(byte[] data) => new(data, StatusWord.Success);

    /// <summary>An answer that is only a status word.</summary>
    public static ApduReply Error(StatusWord status) => new([], status);

    /// <summary>Same as <see cref="Error"/>: lets a handler <c>return StatusWord.X;</c>.</summary>
    public static implicit operator ApduReply(StatusWord status) => Error(status);

    /// <summary>Named alternative of the implicit conversion.</summary>
    public static ApduReply FromStatusWord(StatusWord status) => Error(status);
}
