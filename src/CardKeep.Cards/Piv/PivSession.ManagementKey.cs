using System.Globalization;
using System.Security.Cryptography;

namespace CardKeep.Cards.Piv;

public sealed partial class PivSession
{
    /// <summary>
    /// Mutual authentication with the management key (slot 9B): asks the card for a witness (<c>7C 02 80 00</c>),
    /// decrypts it, sends it back with a host challenge (<c>7C {80 witness, 81 challenge}</c>, 8-byte blocks for 3DES,
    /// 16 for AES), and checks the card's encryption of the challenge (<c>7C {82 …}</c>). Raises
    /// <see cref="PivAuthenticationException"/> when the card refuses the key or answers the challenge wrongly.
    /// </summary>
    public void AuthenticateManagementKey(PivAlgorithm algorithm, ReadOnlySpan<byte> key)
    {
        PivManagementKey.ValidateLength(algorithm, key);
        int blockSize = algorithm.BlockSize();
        var witness = new byte[blockSize];
        var challenge = new byte[blockSize];
        var expected = new byte[blockSize];
        byte[]? template = null;
        try
        {
            using var _ = Transaction();
            var first = Send(PivCommands.GeneralAuthenticate(algorithm, (byte)PivSlot.Management, PivDynamicAuthentication.WitnessRequest()));
            if (!first.IsSuccess)
            {
                throw new PivAuthenticationException(first.StatusWord);
            }

            var encrypted = PivDynamicAuthentication.Required(PivDynamicAuthentication.Parse(first.Data).Witness, PivDynamicAuthentication.TagWitness);
            if (encrypted.Length != blockSize)
            {
                throw new CardFormatException(string.Create(CultureInfo.InvariantCulture,
                    $"management key authentication: the card's witness has {encrypted.Length} bytes, a {algorithm.DisplayName()} block has {blockSize}"));
            }

            PivManagementKey.DecryptBlock(algorithm, key, encrypted.Span, witness);
            FillRandom(challenge);
            PivManagementKey.EncryptBlock(algorithm, key, challenge, expected);
            template = PivDynamicAuthentication.MutualAuthenticationRequest(witness, challenge);
            var second = Send(PivCommands.GeneralAuthenticate(algorithm, (byte)PivSlot.Management, template), secret: true);
            if (!second.IsSuccess)
            {
                throw new PivAuthenticationException(second.StatusWord);
            }

            var response = PivDynamicAuthentication.Required(PivDynamicAuthentication.Parse(second.Data).Response, PivDynamicAuthentication.TagResponse);
            if (!CryptographicOperations.FixedTimeEquals(response.Span, expected))
            {
                throw new PivAuthenticationException(
                    "management key authentication failed: the card's answer to the host challenge is wrong (the card does not hold this key)");
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(witness);
            CryptographicOperations.ZeroMemory(challenge);
            CryptographicOperations.ZeroMemory(expected);
            CryptographicOperations.ZeroMemory(template);
        }
    }

    /// <summary>
    /// YubiKey SET MANAGEMENT KEY (<c>00 FF FF FF|FE … 9B len key</c>); needs a prior <see cref="AuthenticateManagementKey"/>.
    /// A 3DES key with a weak DES part is refused here, as yubico-piv-tool does.
    /// </summary>
    public void SetManagementKey(PivAlgorithm algorithm, ReadOnlySpan<byte> key, bool requireTouch = false)
    {
        PivManagementKey.ValidateNewKey(algorithm, key);
        using var _ = Transaction();
        Send(PivCommands.SetManagementKey(algorithm, key, requireTouch), secret: true).ThrowIfNotSuccess("SET MANAGEMENT KEY");
    }

    /// <summary>
    /// A challenge from the card (<c>00 87 alg 9B 04 7C 02 81 00 00</c> → <c>7C {81 challenge}</c>): card randomness, or the first
    /// step of single-step management-key authentication.
    /// </summary>
    public byte[] GetChallenge(PivAlgorithm algorithm = PivAlgorithm.TripleDes)
    {
        using var _ = Transaction();
        var data = SendForData(PivCommands.GeneralAuthenticate(algorithm, (byte)PivSlot.Management, PivDynamicAuthentication.ChallengeRequest()),
            "GET CHALLENGE");
        return PivDynamicAuthentication.Required(PivDynamicAuthentication.Parse(data).Challenge, PivDynamicAuthentication.TagChallenge).ToArray();
    }
}
