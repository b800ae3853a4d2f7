using CardKeep.VirtualCard.Store;

namespace CardKeep.Manager;

/// <summary>
/// Data objects of a VSC in the store, through its file directly: the card manager is the file's owner, so
/// writes need no PIV management key; private objects still need the PIN to be read.
/// </summary>
public sealed class VscCardObjects(VirtualSmartCard card) : ICardObjects
{
    private VscUnlock? _unlock;

    public string Name => "vsc:" + card.Header.Id;

    public VirtualSmartCard Card => card;

    public bool PrivateUnlocked => _unlock is not null;

    public IReadOnlyList<uint> ListTags() =>
        [.. card.PublicObjectTags.Concat(PrivateUnlocked ? card.PrivateObjectTags : []).Order()];

    public byte[]? Read(uint tag)
    {
        if (card.PrivateObjectTags.Contains(tag))
        {
            return _unlock is null
                ? throw new ManagerException($"{CardObject.AreaOf(tag)} object {tag:X} on {Name} needs the PIN (give --pin)")
                : card.GetPrivateObject(tag, _unlock);
        }

        return card.GetPublicObject(tag);
    }

    public void Write(uint tag, ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
        {
            card.DeleteObject(tag);
        }
        else if (CardObject.AreaOf(tag) == ObjectArea.Private)
        {
            card.PutPrivateObject(tag, content);
        }
        else
        {
            card.PutPublicObject(tag, content);
        }
    }

    public void Unlock(ReadOnlySpan<byte> pin)
    {
        switch (card.VerifyPin(pin))
        {
            case PinResult.Verified verified:
                _unlock?.Dispose();
                _unlock = verified.Unlock;
                break;
            case PinResult.Wrong wrong:
                throw new PinException(wrong.RetriesLeft);
            default:
                throw new PinException(0);
        }
    }

    public void AuthorizeWrites(ReadOnlySpan<byte> managementKey)
    {
        // The file's owner writes it directly; nothing to authorize.
    }

    public void Dispose()
    {
        _unlock?.Dispose();
        card.Dispose();
    }
}
