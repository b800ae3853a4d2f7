using CardKeep.Cards.Iso7816;

namespace CardKeep.Cards.Piv;

public sealed partial class PivSession
{
    /// <summary>
    /// VERIFY the PIN (padded to 8 bytes with 0xFF). Returns false when the card refuses it (63Cx, 6300, 6983), with
    /// <paramref name="retriesLeft"/> the tries the card reports (0 when blocked, null when it gives no count).
    /// Other status words raise <see cref="CardStatusException"/>.
    /// </summary>
    public bool TryVerifyPin(ReadOnlySpan<byte> pin, out int? retriesLeft)
    {
        using var _ = Transaction();
        var sw = Send(PivCommands.Verify(pin), secret: true).StatusWord;
        retriesLeft = sw.RetriesLeft;
        if (sw.IsSuccess)
        {
            return true;
        }

        if (IsPinRefusal(sw))
        {
            return false;
        }

        throw new CardStatusException("PIN verification", sw);
    }

    /// <summary>VERIFY the PIN; a refused PIN raises <see cref="PivPinException"/> with the tries left and whether it is blocked.</summary>
    public void VerifyPin(ReadOnlySpan<byte> pin)
    {
        using var _ = Transaction();
        var sw = Send(PivCommands.Verify(pin), secret: true).StatusWord;
        ThrowIfPinRefused(sw, "PIN verification");
    }

    /// <summary>
    /// The PIN tries left, from the VERIFY status form <c>00 20 00 80</c> (63Cx → x, 6983 → 0). When the PIN is already
    /// verified the card answers 9000 without a count (YubiKey behaviour); the count then comes from GET METADATA (YubiKey
    /// 5.3+), or is null when the card has no metadata. A card that answers 6300 gives null too.
    /// </summary>
    public int? GetPinRetries()
    {
        using var _ = Transaction();
        var sw = Send(PivCommands.VerifyStatus()).StatusWord;
        if (sw.RetriesLeft is { } retries)
        {
            return retries;
        }

        if (sw == StatusWord.VerificationFailed)
        {
            return null;
        }

        if (!sw.IsSuccess)
        {
            throw new CardStatusException("PIN status", sw);
        }

        var metadata = Send(PivCommands.GetMetadata(PivPin.PinReference));
        return metadata.IsSuccess ? PivMetadata.Parse(metadata.Data).RetriesRemaining : null;
    }

    /// <summary>True when the PIN is verified in this session (the status query answers 9000).</summary>
    public bool IsPinVerified()
    {
        using var _ = Transaction();
        return Send(PivCommands.VerifyStatus()).IsSuccess;
    }

    /// <summary>CHANGE REFERENCE DATA for the PIN. A wrong current PIN raises <see cref="PivPinException"/>.</summary>
    public void ChangePin(ReadOnlySpan<byte> currentPin, ReadOnlySpan<byte> newPin) =>
        ChangeReference(PivPin.PinReference, currentPin, newPin, "PIN change");

    /// <summary>CHANGE REFERENCE DATA for the PUK. A wrong current PUK raises <see cref="PivPinException"/>.</summary>
    public void ChangePuk(ReadOnlySpan<byte> currentPuk, ReadOnlySpan<byte> newPuk) =>
        ChangeReference(PivPin.PukReference, currentPuk, newPuk, "PUK change");

    /// <summary>RESET RETRY COUNTER: sets a new PIN with the PUK. A wrong PUK raises <see cref="PivPinException"/> (PUK tries).</summary>
    public void UnblockPin(ReadOnlySpan<byte> puk, ReadOnlySpan<byte> newPin)
    {
        using var _ = Transaction();
        var sw = Send(PivCommands.ResetRetryCounter(puk, newPin), secret: true).StatusWord;
        ThrowIfPinRefused(sw, "PIN unblock (PUK)");
    }

    private void ChangeReference(byte reference, ReadOnlySpan<byte> current, ReadOnlySpan<byte> replacement, string operation)
    {
        using var _ = Transaction();
        var sw = Send(PivCommands.ChangeReferenceData(reference, current, replacement), secret: true).StatusWord;
        ThrowIfPinRefused(sw, operation);
    }

    private static bool IsPinRefusal(StatusWord sw) =>
        sw.IsRetryCounter || sw == StatusWord.VerificationFailed || sw == StatusWord.AuthenticationMethodBlocked;

    private static void ThrowIfPinRefused(StatusWord sw, string operation)
    {
        if (IsPinRefusal(sw))
        {
            throw new PivPinException(operation, sw);
        }

        if (!sw.IsSuccess)
        {
            throw new CardStatusException(operation, sw);
        }
    }
}
