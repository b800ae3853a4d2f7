using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Store;
using Microsoft.Extensions.Logging;

namespace CardKeep.VirtualCard.Edge;

public sealed partial class PivApplet
{
    /// <summary>Object holding the certificate of the attestation key (slot F9).</summary>
    private const uint AttestationCertificateTag = 0x5FFF01;

    /// <summary>The PIV algorithm of the attestation key the applet creates on first use.</summary>
    private const PivAlgorithm AttestationAlgorithm = PivAlgorithm.EccP256;

    private ApduReply GeneralAuthenticate(CommandApdu command, ReadOnlyMemory<byte> data)
    {
        var template = PivDynamicAuthentication.Parse(data);
        return command.P2 == (byte)PivSlot.Management
            ? ManagementAuthenticate(command.P1, template)
            : PrivateKeyOperation(command.P1, command.P2, template);
    }

    /// <summary>
    /// Sign or decrypt (<c>82 00, 81 data</c>: raw RSA on the padded block, or ECDSA over the hash) or key agreement
    /// (<c>82 00, 85 point</c>) with the key of <paramref name="slot"/>, after the PIN policy check. The key is used only
    /// inside <see cref="VirtualSmartCard.UsePrivateKey{T}"/>.
    /// </summary>
    private ApduReply PrivateKeyOperation(byte algorithmId, byte slot, PivDynamicAuthentication template)
    {
        if (!IsKeySlot(slot))
        {
            return StatusWord.IncorrectP1P2;
        }

        var info = _card.GetKey(slot);
        if (info is null)
        {
            return StatusWord.ReferencedDataNotFound;
        }

        if (info.Algorithm != algorithmId)
        {
            return StatusWord.IncorrectDataField;
        }

        var algorithm = (PivAlgorithm)info.Algorithm;
        bool responseRequested = template.Response is { IsEmpty: true } && template.Witness is null;
        bool sign = responseRequested && template.Challenge is { IsEmpty: false } && template.Exponentiation is null;
        bool agree = responseRequested && template.Exponentiation is { IsEmpty: false } && template.Challenge is null && algorithm.IsEcc();
        if (!sign && !agree)
        {
            return StatusWord.IncorrectDataField;
        }

        if (!PinPolicySatisfied(EffectivePinPolicy(slot, info.PinPolicy)))
        {
            return StatusWord.SecurityStatusNotSatisfied;
        }

        // A VERIFY counts as "immediately before" for one private-key operation only.
        _pinJustVerified = false;
        var input = sign ? template.Challenge!.Value : template.Exponentiation!.Value;
        var unlock = info.Protection == KeyProtection.Pin ? _unlock : null;
        var result = _card.UsePrivateKey(slot, unlock, pkcs8 =>
        {
            using var key = PivPrivateKey.FromPkcs8(pkcs8);
            return sign ? PivCardCrypto.Authenticate(key, input.Span) : PivCardCrypto.EcdhSharedSecret(key, input.Span);
        });
        try
        {
            return ApduReply.Success(PivDynamicAuthentication.Encode((PivDynamicAuthentication.TagResponse, result)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(result);
        }
    }

    private bool PinPolicySatisfied(PinPolicy policy) => policy switch
    {
        PinPolicy.Never => true,
        PinPolicy.Always or PinPolicy.MatchAlways => PinVerified && _pinJustVerified,
        _ => PinVerified,
    };

    /// <summary>GENERATE ASYMMETRIC KEY PAIR (47): RSA-1024/2048/3072/4096, P-256, P-384, with YubiKey AA/AB policies.</summary>
    private ApduReply GenerateKeyPair(CommandApdu command, ReadOnlyMemory<byte> data)
    {
        if (command.P1 != 0x00 || !IsKeySlot(command.P2))
        {
            return StatusWord.IncorrectP1P2;
        }

        if (!_managementAuthenticated)
        {
            return StatusWord.SecurityStatusNotSatisfied;
        }

        var template = PivKeyGenerationTemplate.Parse(data);
        if (!PivCardCrypto.CanGenerate(template.Algorithm) || !IsSupportedPolicy(template.Policy))
        {
            return StatusWord.IncorrectDataField;
        }

        using var key = PivCardCrypto.GenerateKeyPair(template.Algorithm);
        StoreKey(command.P2, key, template.Policy, PivKeyOrigin.Generated);
        return ApduReply.Success(key.PublicKey.Encode());
    }

    /// <summary>YubiKey IMPORT KEY (FE): P1 algorithm, P2 slot (the key slots and F9), CRT or EC scalar data.</summary>
    private ApduReply ImportKey(CommandApdu command, ReadOnlyMemory<byte> data)
    {
        if (!IsKeySlot(command.P2) && command.P2 != (byte)PivSlot.Attestation)
        {
            return StatusWord.IncorrectP1P2;
        }

        if (!_managementAuthenticated)
        {
            return StatusWord.SecurityStatusNotSatisfied;
        }

        var algorithm = (PivAlgorithm)command.P1;
        if (!algorithm.IsRsa() && !algorithm.IsEcc())
        {
            return StatusWord.IncorrectP1P2;
        }

        using var key = PivPrivateKey.ParseImportData(algorithm, data, out var policy);
        if (!IsSupportedPolicy(policy))
        {
            return StatusWord.IncorrectDataField;
        }

        StoreKey(command.P2, key, policy, PivKeyOrigin.Imported);
        return ApduReply.Ok;
    }

    /// <summary>YubiKey GET METADATA (F7) for the PIN (80), the PUK (81), the management key (9B) and the key slots.</summary>
    private ApduReply GetMetadata(CommandApdu command)
    {
        if (command.P1 != 0x00)
        {
            return StatusWord.IncorrectP1P2;
        }

        byte reference = command.P2;
        PivMetadata? metadata = reference switch
        {
            PivPin.PinReference => new PivMetadata
            {
                AlgorithmId = PivMetadata.PinAlgorithm,
                IsDefault = _card.PinIsDefault,
                RetriesTotal = _card.PinRetriesMax,
                RetriesRemaining = _card.PinRetriesLeft,
            },
            PivPin.PukReference => new PivMetadata
            {
                AlgorithmId = PivMetadata.PinAlgorithm,
                IsDefault = _card.PukIsDefault,
                RetriesTotal = _card.PukRetriesMax,
                RetriesRemaining = _card.PukRetriesLeft,
            },
            (byte)PivSlot.Management => new PivMetadata
            {
                AlgorithmId = _card.ManagementKeyAlgorithm,
                Policy = new PivKeyPolicy(PinPolicy.Default, _card.ManagementKeyTouch ? TouchPolicy.Always : TouchPolicy.Never),
                IsDefault = _card.ManagementKeyIsDefault,
            },
            _ => _card.GetKey(reference) is { } info && (IsKeySlot(reference) || reference == (byte)PivSlot.Attestation)
                ? new PivMetadata
                {
                    AlgorithmId = info.Algorithm,
                    Policy = new PivKeyPolicy(EffectivePinPolicy(reference, info.PinPolicy), EffectiveTouchPolicy(info.TouchPolicy)),
                    Origin = (PivKeyOrigin)info.Origin,
                    PublicKey = PivPublicKey.FromSubjectPublicKeyInfo(info.PublicKeySpki.Span),
                }
                : null,
        };
        return metadata is null ? StatusWord.ReferencedDataNotFound : ApduReply.Success(metadata.Encode());
    }

    /// <summary>
    /// YubiKey ATTEST (F9): a certificate for the key generated in slot P1, issued by the attestation key in slot F9.
    /// A card without one gets a P-256 key and a self-signed "CardKeep VSC attestation" certificate (object 5FFF01) on
    /// first use. Imported keys cannot be attested (6A80), as on a YubiKey.
    /// </summary>
    private ApduReply Attest(CommandApdu command)
    {
        byte slot = command.P1;
        if (!IsKeySlot(slot) || command.P2 != 0x00)
        {
            return StatusWord.IncorrectP1P2;
        }

        var info = _card.GetKey(slot);
        if (info is null)
        {
            return StatusWord.ReferencedDataNotFound;
        }

        if (info.Origin != (byte)PivKeyOrigin.Generated)
        {
            return StatusWord.IncorrectDataField;
        }

        using var authority = AttestationAuthority();
        if (authority is null)
        {
            return StatusWord.ConditionsOfUseNotSatisfied;
        }

        var attestationKey = _card.GetKey((byte)PivSlot.Attestation)!;
        var slotKey = PivPublicKey.FromSubjectPublicKeyInfo(info.PublicKeySpki.Span);
        var policy = new PivKeyPolicy(EffectivePinPolicy(slot, info.PinPolicy), EffectiveTouchPolicy(info.TouchPolicy));
        var unlock = attestationKey.Protection == KeyProtection.Pin ? _unlock : null;
        return ApduReply.Success(_card.UsePrivateKey((byte)PivSlot.Attestation, unlock, pkcs8 =>
        {
            using var key = PivPrivateKey.FromPkcs8(pkcs8);
            return PivAttestation.CreateCertificate(authority, key, (PivSlot)slot, slotKey, FirmwareVersion, _card.Serial, policy);
        }));
    }

    /// <summary>
    /// The attestation certificate of slot F9 (object 5FFF01); creates the key and/or a self-signed certificate when
    /// missing. Null when 5FFF01 holds something that is not a certificate (it is the user's object: left alone).
    /// </summary>
    private X509Certificate2? AttestationAuthority()
    {
        const byte slot = (byte)PivSlot.Attestation;
        if (_card.GetKey(slot) is null)
        {
            using var generated = PivCardCrypto.GenerateKeyPair(AttestationAlgorithm);
            StoreKey(slot, generated, new PivKeyPolicy(PinPolicy.Never, TouchPolicy.Never), PivKeyOrigin.Generated);
            _card.DeleteObject(AttestationCertificateTag);
            LogAttestationKeyCreated(_logger);
        }

        var stored = _card.GetPublicObject(AttestationCertificateTag);
        if (stored is not null)
        {
            try
            {
                return X509CertificateLoader.LoadCertificate(PivCertificateContainer.Decode(stored));
            }
            catch (Exception e) when (e is CardFormatException or CryptographicException)
            {
                return null;
            }
        }

        var info = _card.GetKey(slot)!;
        var now = DateTimeOffset.UtcNow;
        var der = _card.UsePrivateKey(slot, info.Protection == KeyProtection.Pin ? _unlock : null, pkcs8 =>
        {
            using var key = PivPrivateKey.FromPkcs8(pkcs8);
            return PivAttestation.CreateAuthorityCertificate(key, $"CN=CardKeep VSC attestation {_card.Serial}", now.AddDays(-1), now.AddYears(20));
        });
        _card.PutPublicObject(AttestationCertificateTag, PivCertificateContainer.Encode(der));
        return X509CertificateLoader.LoadCertificate(der);
    }

    /// <summary>Stores a generated or imported key with its policies resolved to the slot defaults.</summary>
    private void StoreKey(byte slot, PivPrivateKey key, PivKeyPolicy policy, PivKeyOrigin origin)
    {
        var pkcs8 = key.ExportPkcs8();
        try
        {
            _card.PutKey(slot, (byte)key.Algorithm, (byte)EffectivePinPolicy(slot, (byte)policy.Pin), (byte)EffectiveTouchPolicy((byte)policy.Touch),
                (byte)origin, pkcs8, key.PublicKey.ToSubjectPublicKeyInfo());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>The slots of asymmetric keys a client may use: 9A, 9C, 9D, 9E and the retired 82–95.</summary>
    private static bool IsKeySlot(byte slot) => slot is >= 0x82 and <= 0x95 or 0x9A or 0x9C or 0x9D or 0x9E;

    /// <summary>PIN never/once/always and touch never/always/cached (or default); no biometric match policies.</summary>
    private static bool IsSupportedPolicy(PivKeyPolicy policy) =>
        policy.Pin is PinPolicy.Default or PinPolicy.Never or PinPolicy.Once or PinPolicy.Always
        && policy.Touch is TouchPolicy.Default or TouchPolicy.Never or TouchPolicy.Always or TouchPolicy.Cached;

    /// <summary>The PIN policy in force: the stored one, or the YubiKey slot default (9C always, 9E and F9 never, others once).</summary>
    private static PinPolicy EffectivePinPolicy(byte slot, byte stored) => (PinPolicy)stored != PinPolicy.Default
        ? (PinPolicy)stored
        : slot switch
        {
            (byte)PivSlot.Signature => PinPolicy.Always,
            (byte)PivSlot.CardAuthentication or (byte)PivSlot.Attestation => PinPolicy.Never,
            _ => PinPolicy.Once,
        };

    /// <summary>The touch policy recorded: the stored one, or Never. A virtual card has no button; touch is never enforced.</summary>
    private static TouchPolicy EffectiveTouchPolicy(byte stored) => (TouchPolicy)stored == TouchPolicy.Default ? TouchPolicy.Never : (TouchPolicy)stored;

    [LoggerMessage(Level = LogLevel.Information, Message = "PIV: created the attestation key (slot F9) and its self-signed certificate")]
    private static partial void LogAttestationKeyCreated(ILogger logger);
}
