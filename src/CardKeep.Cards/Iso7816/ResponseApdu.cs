namespace CardKeep.Cards.Iso7816;

/// <summary>A response APDU: data followed by SW1 SW2.</summary>
public sealed class ResponseApdu
{
    private readonly byte[] _data;

    public ResponseApdu(ReadOnlySpan<byte> data, StatusWord statusWord)
    {
        _data = data.ToArray();
        StatusWord = statusWord;
    }

    public ResponseApdu(StatusWord statusWord) : this(default, statusWord) { }

    public ReadOnlyMemory<byte> Data => _data;

    public StatusWord StatusWord { get; }

    public bool IsSuccess => StatusWord.IsSuccess;

    /// <summary>Returns the data, or throws <see cref="CardStatusException"/> naming the operation when the SW is not 9000.</summary>
    public ReadOnlyMemory<byte> GetData(string operation) =>
        IsSuccess ? _data : throw new CardStatusException(operation, StatusWord);

    /// <summary>Throws <see cref="CardStatusException"/> unless the SW is 9000.</summary>
    public void ThrowIfNotSuccess(string operation)
    {
        if (!IsSuccess)
        {
            throw new CardStatusException(operation, StatusWord);
        }
    }

    public byte[] Encode()
    {
        var buffer = new byte[_data.Length + 2];
        _data.CopyTo(buffer, 0);
        buffer[^2] = StatusWord.Sw1;
        buffer[^1] = StatusWord.Sw2;
        return buffer;
    }

    public static ResponseApdu Parse(ReadOnlySpan<byte> response)
    {
        if (response.Length < 2)
        {
            throw new CardFormatException("response APDU", response.Length, $"needs at least the 2 status bytes, got {response.Length}");
        }

        return new ResponseApdu(response[..^2], new StatusWord(response[^2], response[^1]));
    }

    public override string ToString() => Convert.ToHexString(Encode());
}
