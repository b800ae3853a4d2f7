namespace CardKeep.Agent.Keys;

/// <summary>
/// One key as the agent offers it to its owner: the key, the uid that owns it, and the constraints it was added with.
/// Card and host-store keys belong to a session (<see cref="SessionId"/>) and go when it ends.
/// </summary>
public sealed class Identity(AgentKey key, uint ownerUid, string? sessionId, DateTimeOffset? expires, bool confirm)
{
    public AgentKey Key { get; } = key;

    public uint OwnerUid { get; } = ownerUid;

    public string? SessionId { get; } = sessionId;

    public DateTimeOffset? Expires { get; } = expires;

    public bool Confirm { get; } = confirm;

    public KeySource Source => Key.Source;
}
