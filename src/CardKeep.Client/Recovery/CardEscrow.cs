using System.Security.Cryptography;
using CardKeep.Cards.Piv;
using CardKeep.Manager;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Client.Recovery;

/// <summary>
/// The card's data, escrowed: <see cref="Backup"/> copies a card's objects into a new backup VSC with the card
/// manager (<see cref="CardBackup"/>, <see cref="Transfer"/>: every object but private keys, read back and verified),
/// and returns that VSC file sealed in an <see cref="EscrowEnvelope"/>; <see cref="Restore"/> opens such a blob and
/// writes the objects a replacement card should carry onto it (verified, rolled back on failure): the cardholder's
/// data (URL list, business card, notes, printed information, images…), never what belongs to one card only.
/// </summary>
public static class CardEscrow
{
    /// <summary>
    /// True for objects that move to a new card in a morph. Card-bound objects stay behind: the CHUID (the card's
    /// identity) and the capability container, certificates (their private keys never leave a card), the security object that signs them, the
    /// discovery object, and the CardKeep token objects (the new card registers its own TRK1 token).
    /// </summary>
    public static bool Carries(uint tag)
    {
        if (tag == PivDataObject.Chuid.Tag || tag == PivDataObject.CardCapabilityContainer.Tag || tag == PivDataObject.PairingCodeReferenceData.Tag || tag == PivDataObject.SecurityObject.Tag || tag == PivDataObject.KeyHistory.Tag || Transfer.IsCardGenerated(tag)
            || tag == PivDataObject.CardKeepRegistrationToken.Tag || tag == PivDataObject.CardKeepTrustAnchor.Tag || tag == PivDataObject.YubicoAttestationCertificate.Tag)
        {
            return false;
        }

        return !PivSlotExtensions.CertificateSlots.Any(slot => PivDataObject.CertificateFor(slot).Tag == tag);
    }

    /// <summary>
    /// Backs up <paramref name="card"/> (its PIN already verified, so its private objects are included) into a backup
    /// VSC whose PIN is <paramref name="backupPin"/> (the PUK is random and not kept: the backup is only ever opened
    /// with the PIN), and seals the VSC file for <paramref name="user"/> under <paramref name="recoveryPassword"/>.
    /// </summary>
    public static (byte[] Blob, IReadOnlyList<TransferItem> Items) Backup(ICardObjects card, string cardId, ReadOnlySpan<byte> backupPin,
        ReadOnlySpan<byte> recoveryPassword, string user, int iterations = EscrowEnvelope.DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(card);
        var (objects, skipped) = Transfer.ReadAll(card);
        string folder = Directory.CreateTempSubdirectory("cardkeep-escrow-").FullName;
        try
        {
            var store = new VscStore(folder);
            string id = CardBackup.VscIdFor(SafeId(cardId));
            var puk = RandomNumberGenerator.GetBytes(8);
            for (int i = 0; i < puk.Length; i++)
            {
                puk[i] = (byte)('0' + (puk[i] % 10));
            }

            TransferReport report;
            try
            {
                using var created = CardBackup.CreateVsc(store, SafeId(cardId), backupPin, puk);
                using var target = new VscCardObjects(created);
                target.Unlock(backupPin);
                report = Transfer.WriteAll(target, objects);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(puk);
            }

            if (!report.Succeeded)
            {
                throw new AccountException(AccountFailure.Local, $"the backup VSC could not be written: {report.Failure}");
            }

            var file = File.ReadAllBytes(store.PathFor(id));
            try
            {
                return (EscrowEnvelope.Seal(file, recoveryPassword, user, iterations), [.. report.Items, .. skipped]);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(file);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Opens an escrow blob with <paramref name="recoveryPassword"/> and the backup's <paramref name="backupPin"/> and
    /// returns every object the backup holds (the caller zeroes nothing: these are the cardholder's data objects).
    /// </summary>
    public static IReadOnlyList<CardObject> OpenBackup(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> recoveryPassword, string user, ReadOnlySpan<byte> backupPin)
    {
        var file = EscrowEnvelope.Open(blob, recoveryPassword, user);
        string folder = Directory.CreateTempSubdirectory("cardkeep-escrow-").FullName;
        try
        {
            string path = Path.Combine(folder, "escrow.vsc");
            File.WriteAllBytes(path, file);
            using var backup = new VscCardObjects(VirtualSmartCard.Open(path, new VscOpenOptions()));
            try
            {
                backup.Unlock(backupPin);
            }
            catch (PinException e)
            {
                throw new AccountException(AccountFailure.WrongPin, $"the backup's PIN (the old card's PIN when it was backed up) was not accepted: {e.Message}", e);
            }

            return Transfer.ReadAll(backup).Objects;
        }
        catch (Exception e) when (e is VscException or Cards.CardFormatException)
        {
            throw new AccountException(AccountFailure.Escrow, $"the escrowed backup is not a usable VSC: {e.Message}", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(file);
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Morph: writes the objects <see cref="Carries"/> admits onto <paramref name="target"/> (PIN verified and writes
    /// authorized by the caller), each read back and compared; on a failed write everything written is rolled back.
    /// </summary>
    public static TransferReport WriteCarried(IEnumerable<CardObject> objects, ICardObjects target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return Transfer.WriteAll(target, [.. objects.Where(o => Carries(o.Tag))]);
    }

    /// <summary>The issuer certificate of the TRK1 trust anchor (5FFF14) among <paramref name="objects"/>, or null.</summary>
    public static byte[]? IssuerCertificate(IEnumerable<CardObject> objects)
    {
        var anchor = objects.FirstOrDefault(o => o.Tag == PivDataObject.CardKeepTrustAnchor.Tag);
        try
        {
            return anchor is null ? null : Tokens.TokenIdentity.DecodeObject(anchor.Value).IssuerCertificate;
        }
        catch (Tokens.TokenException)
        {
            return null;
        }
    }

    /// <summary>A card ID as a VSC Id part: "uuid:…" has a colon, which Ids do not allow.</summary>
    private static string SafeId(string cardId) => cardId.Replace(':', '-');
}
