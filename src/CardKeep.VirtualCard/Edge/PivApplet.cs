using System.Runtime.InteropServices;
using System.Security.Cryptography;
using CardKeep.Cards;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CardKeep.VirtualCard.Edge;

/// <summary>
/// The PIV card edge of a virtual smart card: SP 800-73-4 PIV plus the YubiKey extensions, speaking APDUs for
/// <see cref="Link.VpcdLink"/> (pcscd) or <see cref="EmulatorChannel"/> (in process). Everything persistent lives in
/// the <see cref="VirtualSmartCard"/>; the applet holds only the session: selection, PIN verification (a
/// <see cref="VscUnlock"/>), management-key authentication, command and response chains. See docs/vsc-card-edge.md.
/// </summary>
/// <remarks>
/// <see cref="Process"/> never throws: malformed input gets a status word, and an unexpected failure 6F00 with a log
/// line naming only the exception type and INS. No secret reaches a log or an exception message, and every buffer the
/// applet owns that held a secret is zeroed once used. Calls are serialised by an internal lock.
/// </remarks>
public sealed partial class PivApplet : ICardEmulator
{
    /// <summary>Largest data object content PUT DATA accepts (YubiKey 4/5: 3072 − 9 bytes).</summary>
    public const int MaxObjectLength = 3063;

    private static readonly byte[] _atr = BuildAtr();
    private readonly VirtualSmartCard _card;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CommandChain _chain = new();
    private readonly ResponseChain _response = new();
    private bool _selected;
    private VscUnlock? _unlock;
    private bool _pinJustVerified;
    private bool _managementAuthenticated;
    private byte[]? _pendingWitness;
    private byte[]? _pendingChallenge;

    /// <summary>Creates the card edge for <paramref name="card"/>, which must stay open while the applet is used.</summary>
    public PivApplet(VirtualSmartCard card, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(card);
        _card = card;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// The firmware version GET VERSION reports, 5.4.3: libykpiv then reads the serial with GET SERIAL, and YubiKey
    /// tools allow metadata and AES management keys.
    /// </summary>
    public static YubicoVersion FirmwareVersion { get; } = new(5, 4, 3);

    /// <summary>
    /// <c>3B 8B 80 01 80 F9 A0 00 00 03 08 00 00 10 00 C8</c>: T=1, historical bytes in compact TLV with tag F9 holding
    /// the PIV AID, so OpenSC 0.23 classifies the card as PIV_II_HIST with no workarounds.
    /// </summary>
    public ReadOnlyMemory<byte> Atr => _atr;

    /// <summary>True while the PIN is verified in this session.</summary>
    private bool PinVerified => _unlock is { IsDisposed: false };

    /// <inheritdoc/>
    public byte[] Process(ReadOnlySpan<byte> commandApdu)
    {
        lock (_gate)
        {
            byte ins = commandApdu.Length > 1 ? commandApdu[1] : (byte)0;
            try
            {
                var response = ProcessLocked(commandApdu);
                if (_logger.IsEnabled(LogLevel.Debug) && commandApdu.Length >= 4)
                {
                    LogCommand(_logger, commandApdu[0], ins, commandApdu[2], commandApdu[3], response[^2], response[^1]);
                }

                return response;
            }
#pragma warning disable CA1031 // A card answers every command: an unexpected failure becomes 6F00, never an exception.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogUnexpected(_logger, e.GetType().Name, ins);
                _chain.Clear();
                _response.Clear();
                ClearPendingAuthentication();
                return Encode(StatusWord.NoPreciseDiagnosis);
            }
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        lock (_gate)
        {
            _selected = false;
            EndSecuritySession();
            _chain.Clear();
            _response.Clear();
        }
    }

    private static byte[] BuildAtr()
    {
        byte[] body = [0x3B, 0x8B, 0x80, 0x01, 0x80, 0xF9, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00];
        byte check = 0;
        foreach (byte b in body.AsSpan(1))
        {
            check ^= b;
        }

        return [.. body, check];
    }

    private static byte[] Encode(StatusWord status) => [status.Sw1, status.Sw2];

    private byte[] ProcessLocked(ReadOnlySpan<byte> apdu)
    {
        if (apdu.Length < 4)
        {
            return Refuse(StatusWord.WrongLength);
        }

        if ((apdu[0] & ~0x10) != 0)
        {
            return Refuse(StatusWord.ClassNotSupported);
        }

        CommandApdu command;
        try
        {
            command = CommandApdu.Parse(apdu);
        }
        catch (CardFormatException)
        {
            return Refuse(StatusWord.WrongLength);
        }

        try
        {
            return Handle(command);
        }
        finally
        {
            // The parsed command holds its own copy of the data (a PIN, a key being imported): wipe it.
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsMemory(command.Data).Span);
        }
    }

    /// <summary>Answers with only <paramref name="status"/> after dropping the command chain and any pending response.</summary>
    private byte[] Refuse(StatusWord status)
    {
        _chain.Clear();
        _response.Clear();
        return Encode(status);
    }

    private byte[] Handle(CommandApdu command)
    {
        if (_chain.IsActive && !_chain.Continues(command))
        {
            return Refuse(StatusWord.LastCommandOfChainExpected);
        }

        if (command.Ins == PivInstruction.GetResponse && !_chain.IsActive)
        {
            return _response.Next(command.Ne);
        }

        _response.Clear();
        if (!_selected && command.Ins != PivInstruction.Select)
        {
            _chain.Clear();
            return Encode(StatusWord.InstructionNotSupported);
        }

        if (command.IsChained)
        {
            return Encode(_chain.Append(command) ? StatusWord.Success : StatusWord.NotEnoughMemory);
        }

        if (!_chain.IsActive)
        {
            return _response.Start(Dispatch(command, command.Data), command.Ne);
        }

        if (!_chain.Append(command))
        {
            return Encode(StatusWord.NotEnoughMemory);
        }

        var assembled = _chain.Take();
        try
        {
            return _response.Start(Dispatch(command, assembled), command.Ne);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(assembled);
        }
    }

    private ApduReply Dispatch(CommandApdu command, ReadOnlyMemory<byte> data)
    {
        if (command.Ins != PivInstruction.GeneralAuthenticate || command.P2 != (byte)PivSlot.Management)
        {
            ClearPendingAuthentication();
        }

        try
        {
            return command.Ins switch
            {
                PivInstruction.Select => Select(command, data.Span),
                PivInstruction.GetData => GetData(command, data),
                PivInstruction.PutData => PutData(command, data),
                PivInstruction.Verify => Verify(command, data.Span),
                PivInstruction.ChangeReferenceData => ChangeReferenceData(command, data.Span),
                PivInstruction.ResetRetryCounter => ResetRetryCounter(command, data.Span),
                PivInstruction.GeneralAuthenticate => GeneralAuthenticate(command, data),
                PivInstruction.GenerateAsymmetricKeyPair => GenerateKeyPair(command, data),
                PivInstruction.ImportKey => ImportKey(command, data),
                PivInstruction.SetManagementKey => SetManagementKey(command, data.Span),
                PivInstruction.GetVersion => ApduReply.Success(FirmwareVersion.Encode()),
                PivInstruction.GetSerial => ApduReply.Success(YubicoSerial.Encode(_card.Serial)),
                PivInstruction.GetMetadata => GetMetadata(command),
                PivInstruction.Attest => Attest(command),
                PivInstruction.Reset => ResetApplication(),
                PivInstruction.SetPinRetries => SetPinRetries(command),
                _ => StatusWord.InstructionNotSupported,
            };
        }
        catch (VscPinRequiredException)
        {
            return StatusWord.SecurityStatusNotSatisfied;
        }
        catch (KeyNotFoundException)
        {
            return StatusWord.ReferencedDataNotFound;
        }
        catch (PivInvalidInputException e)
        {
            return e.StatusWord;
        }
        catch (VscFormatException e)
        {
            LogDamaged(_logger, command.Ins, e.Reason ?? "damaged item");
            return StatusWord.NoPreciseDiagnosis;
        }
        catch (CardFormatException)
        {
            return StatusWord.IncorrectDataField;
        }
        catch (IOException e)
        {
            LogSaveFailed(_logger, command.Ins, e.GetType().Name);
            return StatusWord.MemoryFailure;
        }
        catch (UnauthorizedAccessException e)
        {
            LogSaveFailed(_logger, command.Ins, e.GetType().Name);
            return StatusWord.MemoryFailure;
        }
        catch (InvalidOperationException) when (_card.IsReadOnly)
        {
            // Opened read-only: nothing can be saved, not even a PIN counter, so nothing that changes the card works.
            LogReadOnly(_logger, command.Ins);
            return StatusWord.MemoryFailure;
        }
    }

    private ApduReply Select(CommandApdu command, ReadOnlySpan<byte> aid)
    {
        if (command.P1 == 0x04 && aid.Length >= PivAid.NistRid.Length && aid.Length <= PivAid.Full.Length && PivAid.Full.StartsWith(aid))
        {
            _selected = true;
            return command.P2 == 0x0C ? ApduReply.Ok : ApduReply.Success(PivApplicationProperty.YubiKey.Encode());
        }

        if (command.P1 == 0x04 && aid.SequenceEqual(PivAid.YubicoManagement))
        {
            // The YubiKey management application "exists": selecting it leaves PIV and ends its security session,
            // which is how libykpiv (ykpiv_get_pin_retries) drops a verified PIN before asking for the tries left.
            _selected = false;
            EndSecuritySession();
            return ApduReply.Ok;
        }

        // Any other application: not found, and PIV stays selected (libykpiv probes the OTP application and carries on).
        return StatusWord.FileNotFound;
    }

    /// <summary>Forgets PIN verification and management-key authentication (reset, power, leaving the application).</summary>
    private void EndSecuritySession()
    {
        DropPinVerification();
        _managementAuthenticated = false;
        ClearPendingAuthentication();
    }

    private void DropPinVerification()
    {
        _unlock?.Dispose();
        _unlock = null;
        _pinJustVerified = false;
    }

    private void ClearPendingAuthentication()
    {
        CryptographicOperations.ZeroMemory(_pendingWitness);
        CryptographicOperations.ZeroMemory(_pendingChallenge);
        _pendingWitness = null;
        _pendingChallenge = null;
    }

    /// <summary>The header and status word of each command: never data (PINs, keys, witnesses travel there).</summary>
    [LoggerMessage(Level = LogLevel.Debug, Message = "PIV {Cla:X2} {Ins:X2} {P1:X2} {P2:X2} -> {Sw1:X2}{Sw2:X2}")]
    private static partial void LogCommand(ILogger logger, byte cla, byte ins, byte p1, byte p2, byte sw1, byte sw2);

    [LoggerMessage(Level = LogLevel.Error, Message = "PIV applet failed on INS {Ins:X2} ({ExceptionType}); answered 6F00")]
    private static partial void LogUnexpected(ILogger logger, string exceptionType, byte ins);

    [LoggerMessage(Level = LogLevel.Error, Message = "PIV INS {Ins:X2}: the card file holds a damaged item ({Reason}); answered 6F00")]
    private static partial void LogDamaged(ILogger logger, byte ins, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PIV INS {Ins:X2}: the card file is open read-only; answered 6581")]
    private static partial void LogReadOnly(ILogger logger, byte ins);

    [LoggerMessage(Level = LogLevel.Error, Message = "PIV INS {Ins:X2}: saving the card file failed ({ExceptionType}); answered 6581")]
    private static partial void LogSaveFailed(ILogger logger, byte ins, string exceptionType);
}
