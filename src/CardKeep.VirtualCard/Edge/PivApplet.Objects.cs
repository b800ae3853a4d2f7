using System.Security.Cryptography;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;

namespace CardKeep.VirtualCard.Edge;

public sealed partial class PivApplet
{
    private ApduReply GetData(CommandApdu command, ReadOnlyMemory<byte> data)
    {
        if (command.P1 != 0x3F || command.P2 != 0xFF)
        {
            return StatusWord.IncorrectP1P2;
        }

        uint tag = PivObjectEncoding.ParseGetDataRequest(data);
        if (tag == PivDiscovery.Tag)
        {
            return ApduReply.Success(PivDiscovery.Default.Encode());
        }

        if (PivDataObject.ReadAccessFor(tag) == PivReadAccess.PinRequired)
        {
            if (!PinVerified)
            {
                return StatusWord.SecurityStatusNotSatisfied;
            }

            var secret = _card.GetPrivateObject(tag, _unlock!) ?? _card.GetPublicObject(tag);
            try
            {
                return secret is null ? StatusWord.FileNotFound : ApduReply.Success(PivObjectEncoding.GetDataResponse(tag, secret));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }

        var content = _card.GetPublicObject(tag) ?? (tag == PivDataObject.Chuid.Tag ? SynthesizedChuid() : null);
        return content is null ? StatusWord.FileNotFound : ApduReply.Success(PivObjectEncoding.GetDataResponse(tag, content));
    }

    private ApduReply PutData(CommandApdu command, ReadOnlyMemory<byte> data)
    {
        if (command.P1 != 0x3F || command.P2 != 0xFF)
        {
            return StatusWord.IncorrectP1P2;
        }

        if (!_managementAuthenticated)
        {
            return StatusWord.SecurityStatusNotSatisfied;
        }

        var (tag, content) = PivObjectEncoding.ParsePutDataRequest(data);
        if (!IsWritableTag(tag))
        {
            return StatusWord.IncorrectDataField;
        }

        bool delete = content.IsEmpty || (PivDataObject.IsSelfTaggedTag(tag) && BerTlv.ParseSingle(content).Value.IsEmpty);
        if (delete)
        {
            _card.DeleteObject(tag);
            return ApduReply.Ok;
        }

        if (content.Length > MaxObjectLength)
        {
            return StatusWord.NotEnoughMemory;
        }

        if (PivDataObject.ReadAccessFor(tag) == PivReadAccess.PinRequired)
        {
            _card.PutPrivateObject(tag, content.Span);
        }
        else
        {
            _card.PutPublicObject(tag, content.Span);
        }

        return ApduReply.Ok;
    }

    /// <summary>
    /// Tags PUT DATA may write: the SP 800-73-4 containers 5FC1xx, the vendor range 5FFFxx (Yubico and CardKeep) and
    /// the BIT group template 7F61. The Discovery object 7E is fixed.
    /// </summary>
    private static bool IsWritableTag(uint tag) =>
        (tag & 0xFFFF00) is 0x5FC100 or 0x5FFF00 || tag == PivDataObject.BiometricGroupTemplate.Tag;

    /// <summary>
    /// The CHUID a card without a stored one answers: non-federal FASC-N (agency 9999, so OpenSC shows the GUID as the
    /// card serial), the card GUID, expiry ten years after the card was created, no signature.
    /// </summary>
    private byte[] SynthesizedChuid()
    {
        var created = DateOnly.FromDateTime(_card.Header.Created.UtcDateTime);
        return new PivChuid(Fascn.NonFederal.Encode(), _card.CardGuid.Span, created.AddYears(10)).Encode();
    }
}
