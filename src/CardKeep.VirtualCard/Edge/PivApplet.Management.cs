using System.Security.Cryptography;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;
using Microsoft.Extensions.Logging;

namespace CardKeep.VirtualCard.Edge;

public sealed partial class PivApplet
{
    /// <summary>Random bytes OpenSC's GET CHALLENGE (<c>00 87 00 9B 04 7C 02 81 00</c>) receives.</summary>
    private const int RandomLength = 8;

    /// <summary>
    /// GENERAL AUTHENTICATE with the management key (9B): mutual authentication (witness 80, then 80 + 81 → 82),
    /// single-step authentication (81 requested → challenge, then 82 = Enc(challenge)), and with P1 = 00 a challenge as
    /// random bytes (OpenSC's RNG). The pending witness or challenge lives until the next command.
    /// </summary>
    private ApduReply ManagementAuthenticate(byte algorithmId, PivDynamicAuthentication template)
    {
        bool challengeRequestOnly = template.Challenge is { IsEmpty: true } && template.Witness is null && template.Response is null
            && template.Exponentiation is null;
        if (algorithmId == 0x00 && challengeRequestOnly)
        {
            ClearPendingAuthentication();
            return ApduReply.Success(PivDynamicAuthentication.Encode((PivDynamicAuthentication.TagChallenge, RandomNumberGenerator.GetBytes(RandomLength))));
        }

        var algorithm = (PivAlgorithm)algorithmId;
        if (!algorithm.IsManagementKey())
        {
            ClearPendingAuthentication();
            return StatusWord.IncorrectP1P2;
        }

        if (algorithmId != _card.ManagementKeyAlgorithm)
        {
            ClearPendingAuthentication();
            return StatusWord.IncorrectDataField;
        }

        var key = _card.GetManagementKey();
        try
        {
            return ManagementStep(algorithm, key, template, challengeRequestOnly);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private ApduReply ManagementStep(PivAlgorithm algorithm, byte[] key, PivDynamicAuthentication template, bool challengeRequestOnly)
    {
        int blockSize = algorithm.BlockSize();
        var witness = template.Witness;
        var challenge = template.Challenge;
        var response = template.Response;
        if (witness is { IsEmpty: true } && challenge is null && response is null && template.Exponentiation is null)
        {
            // Step 1 of mutual authentication: the card's witness, encrypted.
            ClearPendingAuthentication();
            _managementAuthenticated = false;
            _pendingWitness = RandomNumberGenerator.GetBytes(blockSize);
            return ApduReply.Success(PivDynamicAuthentication.Encode(
                (PivDynamicAuthentication.TagWitness, PivManagementKey.EncryptBlock(algorithm, key, _pendingWitness))));
        }

        if (witness is { IsEmpty: false } presented && challenge is { IsEmpty: false } hostChallenge && template.Exponentiation is null
            && response is null or { IsEmpty: true })
        {
            // Step 2: the host proves it decrypted the witness and challenges the card in turn.
            var expected = _pendingWitness;
            _pendingWitness = null;
            bool proven = expected is not null && presented.Length == blockSize && CryptographicOperations.FixedTimeEquals(presented.Span, expected);
            CryptographicOperations.ZeroMemory(expected);
            if (!proven || hostChallenge.Length != blockSize)
            {
                _managementAuthenticated = false;
                LogManagementRefused(_logger);
                return StatusWord.SecurityStatusNotSatisfied;
            }

            _managementAuthenticated = true;
            return ApduReply.Success(PivDynamicAuthentication.Encode(
                (PivDynamicAuthentication.TagResponse, PivManagementKey.EncryptBlock(algorithm, key, hostChallenge.Span))));
        }

        if (challengeRequestOnly)
        {
            // Single-step authentication, part 1: a plain challenge the host must encrypt.
            ClearPendingAuthentication();
            _managementAuthenticated = false;
            _pendingChallenge = RandomNumberGenerator.GetBytes(blockSize);
            return ApduReply.Success(PivDynamicAuthentication.Encode((PivDynamicAuthentication.TagChallenge, (byte[])_pendingChallenge.Clone())));
        }

        if (response is { IsEmpty: false } answer && witness is null && challenge is null && template.Exponentiation is null)
        {
            var issued = _pendingChallenge;
            _pendingChallenge = null;
            bool proven = false;
            if (issued is not null && answer.Length == blockSize)
            {
                var expected = PivManagementKey.EncryptBlock(algorithm, key, issued);
                proven = CryptographicOperations.FixedTimeEquals(answer.Span, expected);
                CryptographicOperations.ZeroMemory(expected);
            }

            CryptographicOperations.ZeroMemory(issued);
            _managementAuthenticated = proven;
            if (!proven)
            {
                LogManagementRefused(_logger);
                return StatusWord.SecurityStatusNotSatisfied;
            }

            return ApduReply.Ok;
        }

        ClearPendingAuthentication();
        return StatusWord.IncorrectDataField;
    }

    /// <summary>
    /// YubiKey SET MANAGEMENT KEY (FF): <c>P1 = FF, P2 = FF (no touch) or FE (touch)</c>, data <c>alg 9B len key</c>
    /// with 3DES or AES-128/192/256. Needs the management key; a 3DES key with a weak DES part is refused (6A80).
    /// </summary>
    private ApduReply SetManagementKey(CommandApdu command, ReadOnlySpan<byte> data)
    {
        if (command.P1 != 0xFF || command.P2 is not (0xFF or 0xFE))
        {
            return StatusWord.IncorrectP1P2;
        }

        if (!_managementAuthenticated)
        {
            return StatusWord.SecurityStatusNotSatisfied;
        }

        if (data.Length < 3 || data[1] != (byte)PivSlot.Management)
        {
            return StatusWord.IncorrectDataField;
        }

        var algorithm = (PivAlgorithm)data[0];
        var key = data[3..];
        if (!algorithm.IsManagementKey() || data[2] != key.Length || key.Length != algorithm.KeyLength()
            || PivManagementKey.IsWeak(algorithm, key))
        {
            return StatusWord.IncorrectDataField;
        }

        _card.SetManagementKey(data[0], key, touch: command.P2 == 0xFE);
        LogManagementKeyChanged(_logger, algorithm);
        return ApduReply.Ok;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PIV: management key authentication refused")]
    private static partial void LogManagementRefused(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "PIV: management key replaced ({Algorithm})")]
    private static partial void LogManagementKeyChanged(ILogger logger, PivAlgorithm algorithm);
}
