using CardKeep.Cards;
using CardKeep.Cards.Piv;

namespace CardKeep.Manager;

/// <summary>Data objects of a PIV card reached through any channel (a reader, or a VSC in-process).</summary>
public sealed class PivCardObjects(PivSession session, string name, IDisposable? owned = null) : ICardObjects
{
    public string Name { get; } = name;

    public bool PrivateUnlocked { get; private set; }

    public PivSession Session => session;

    public IReadOnlyList<uint> ListTags()
    {
        var tags = new List<uint>();
        foreach (var o in PivDataObject.All)
        {
            if (o.ReadAccess != PivReadAccess.Always && !PrivateUnlocked)
            {
                continue;
            }

            if (Read(o.Tag) is not null)
            {
                tags.Add(o.Tag);
            }
        }

        return tags;
    }

    public byte[]? Read(uint tag)
    {
        try
        {
            return session.GetData(tag);
        }
        catch (CardStatusException e) when (e.StatusWord.Value == 0x6982)
        {
            throw new ManagerException($"{CardObjectName(tag)} on {Name} needs the PIN (give --pin)");
        }
    }

    public void Write(uint tag, ReadOnlySpan<byte> content)
    {
        try
        {
            session.PutData(tag, content);
        }
        catch (CardStatusException e) when (e.StatusWord.Value == 0x6982)
        {
            throw new ManagerException($"writing {CardObjectName(tag)} on {Name} needs the management key (give --mgmt-key)");
        }
        catch (CardStatusException e) when (e.StatusWord.Value is 0x6A84 or 0x6A80 or 0x6700)
        {
            throw new ManagerException($"{Name} has no room for {CardObjectName(tag)} ({content.Length} bytes): {e.StatusWord.Meaning}");
        }
    }

    public void Unlock(ReadOnlySpan<byte> pin)
    {
        if (!session.TryVerifyPin(pin, out int? retriesLeft))
        {
            throw new PinException(retriesLeft);
        }

        PrivateUnlocked = true;
    }

    public void AuthorizeWrites(ReadOnlySpan<byte> managementKey)
    {
        // YubiKeys 5.3+ and VSCs say which algorithm the management key uses; older cards are 3DES.
        var algorithm = session.ReadManagementKeyAlgorithm();
        try
        {
            session.AuthenticateManagementKey(algorithm, managementKey);
        }
        catch (PivAuthenticationException)
        {
            throw new ManagerException($"the management key was not accepted by {Name}");
        }
    }

    private static string CardObjectName(uint tag) => PivDataObject.Find(tag)?.Name ?? $"object {tag:X}";

    public void Dispose()
    {
        session.Dispose();
        owned?.Dispose();
    }
}
