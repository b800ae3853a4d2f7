using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Store;
using Microsoft.Extensions.Logging;

namespace CardKeep.VirtualCard.Edge;

public sealed partial class PivApplet
{
    /// <summary>Shortest new PIN or PUK accepted (YubiKey rule; a PIV PIN has 6 to 8 characters).</summary>
    private const int MinNewSecretLength = 6;

    private ApduReply Verify(CommandApdu command, ReadOnlySpan<byte> data)
    {
        if (command.P1 is not (0x00 or 0xFF))
        {
            return StatusWord.IncorrectP1P2;
        }

        if (command.P2 != PivPin.PinReference)
        {
            // Only the PIV application PIN: no global PIN, and (as on a YubiKey) no VERIFY of the PUK.
            return StatusWord.ReferencedDataNotFound;
        }

        if (command.P1 == 0xFF)
        {
            // SP 800-73-4: P1 = FF resets the PIN's security status.
            DropPinVerification();
            return ApduReply.Ok;
        }

        if (data.IsEmpty)
        {
            // Status query: the case-1 form and libykpiv's "00 20 00 80 00" (parsed as Le = 00) alike.
            return PinVerified ? ApduReply.Ok : RetriesStatus(_card.PinRetriesLeft);
        }

        if (!PivPin.TryUnpad(data, out int length))
        {
            return StatusWord.IncorrectDataField;
        }

        // The store decreases and saves the counter before trying; a live unlock for the same PIN re-verifies fast.
        switch (_card.VerifyPin(data[..length], _unlock))
        {
            case PinResult.Verified verified:
                _unlock?.Dispose();
                _unlock = verified.Unlock;
                _pinJustVerified = true;
                return ApduReply.Ok;
            case PinResult.Wrong wrong:
                DropPinVerification();
                LogPinRefused(_logger, "PIN", wrong.RetriesLeft);
                return Refused(wrong.RetriesLeft);
            default:
                DropPinVerification();
                return StatusWord.AuthenticationMethodBlocked;
        }
    }

    private ApduReply ChangeReferenceData(CommandApdu command, ReadOnlySpan<byte> data)
    {
        if (command.P1 != 0x00)
        {
            return StatusWord.IncorrectP1P2;
        }

        if (command.P2 is not (PivPin.PinReference or PivPin.PukReference))
        {
            return StatusWord.ReferencedDataNotFound;
        }

        if (!TrySplitPair(data, out var current, out var replacement))
        {
            return StatusWord.IncorrectDataField;
        }

        bool pin = command.P2 == PivPin.PinReference;
        var result = pin ? _card.ChangePin(current, replacement) : _card.ChangePuk(current, replacement);
        switch (result)
        {
            case PinResult.Verified verified when pin:
                // The current PIN was proven: the session is verified with the new one (not "just verified").
                _unlock?.Dispose();
                _unlock = verified.Unlock;
                _pinJustVerified = false;
                return ApduReply.Ok;
            case PinResult.Verified verified:
                // ChangePuk's unlock carries no PIN: it must not count as PIN verification.
                verified.Unlock.Dispose();
                return ApduReply.Ok;
            case PinResult.Wrong wrong:
                if (pin)
                {
                    DropPinVerification();
                }

                LogPinRefused(_logger, pin ? "PIN" : "PUK", wrong.RetriesLeft);
                return Refused(wrong.RetriesLeft);
            default:
                return StatusWord.AuthenticationMethodBlocked;
        }
    }

    private ApduReply ResetRetryCounter(CommandApdu command, ReadOnlySpan<byte> data)
    {
        if (command.P1 != 0x00)
        {
            return StatusWord.IncorrectP1P2;
        }

        if (command.P2 != PivPin.PinReference)
        {
            return StatusWord.ReferencedDataNotFound;
        }

        if (!TrySplitPair(data, out var puk, out var newPin))
        {
            return StatusWord.IncorrectDataField;
        }

        switch (_card.UnblockPin(puk, newPin))
        {
            case PinResult.Verified verified:
                // A new PIN is set, but it has not been presented by VERIFY: the PIN is not verified afterwards.
                verified.Unlock.Dispose();
                DropPinVerification();
                return ApduReply.Ok;
            case PinResult.Wrong wrong:
                LogPinRefused(_logger, "PUK", wrong.RetriesLeft);
                return Refused(wrong.RetriesLeft);
            default:
                return StatusWord.AuthenticationMethodBlocked;
        }
    }

    /// <summary>YubiKey SET PIN RETRIES (FA): needs the management key and a verified PIN; PIN and PUK return to their defaults.</summary>
    private ApduReply SetPinRetries(CommandApdu command)
    {
        if (!_managementAuthenticated || !PinVerified)
        {
            return StatusWord.SecurityStatusNotSatisfied;
        }

        if (command.P1 == 0 || command.P2 == 0)
        {
            return StatusWord.IncorrectP1P2;
        }

        _card.SetRetries(command.P1, command.P2, _unlock!);
        DropPinVerification();
        return ApduReply.Ok;
    }

    /// <summary>YubiKey RESET (FB): allowed only while both PIN and PUK are blocked; wipes the card to factory state.</summary>
    private ApduReply ResetApplication()
    {
        if (_card.PinRetriesLeft != 0 || _card.PukRetriesLeft != 0)
        {
            return StatusWord.ConditionsOfUseNotSatisfied;
        }

        _card.Reset();
        EndSecuritySession();
        LogApplicationReset(_logger);
        return ApduReply.Ok;
    }

    /// <summary>63Cx with the tries left, or 6983 when blocked.</summary>
    private static StatusWord RetriesStatus(int retriesLeft) =>
        retriesLeft <= 0 ? StatusWord.AuthenticationMethodBlocked : StatusWord.RetryCounter(retriesLeft);

    /// <summary>The answer to a wrong PIN or PUK: 63Cx, or 6983 when that was the last try.</summary>
    private static StatusWord Refused(int retriesLeft) => RetriesStatus(retriesLeft);

    /// <summary>
    /// Splits the 16-byte data of CHANGE REFERENCE DATA / RESET RETRY COUNTER into the two FF-padded values; the new
    /// value must have 6 to 8 bytes. The results are slices of <paramref name="data"/>.
    /// </summary>
    private static bool TrySplitPair(ReadOnlySpan<byte> data, out ReadOnlySpan<byte> current, out ReadOnlySpan<byte> replacement)
    {
        current = default;
        replacement = default;
        if (data.Length != 2 * PivPin.PaddedLength
            || !PivPin.TryUnpad(data[..PivPin.PaddedLength], out int currentLength)
            || !PivPin.TryUnpad(data[PivPin.PaddedLength..], out int newLength)
            || newLength < MinNewSecretLength)
        {
            return false;
        }

        current = data[..currentLength];
        replacement = data.Slice(PivPin.PaddedLength, newLength);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PIV: wrong {Reference}, {RetriesLeft} tries left")]
    private static partial void LogPinRefused(ILogger logger, string reference, int retriesLeft);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PIV application reset: keys, objects, PIN, PUK and management key are back to factory state")]
    private static partial void LogApplicationReset(ILogger logger);
}
