using System.Collections.Immutable;

namespace CardKeep.VirtualCard.Store;

/// <summary>A private key as stored: sealed to the area key (<see cref="Sealed"/>) or plain PKCS#8 (<see cref="PlainPkcs8"/>).</summary>
internal sealed record StoredKey(VscKeyInfo Info, SealedItem? Sealed, byte[]? PlainPkcs8);

/// <summary>The PIV management key, stored in the clear (the card answers its challenge without a PIN).</summary>
internal sealed record ManagementKeyData(byte Algorithm, byte[] Key, bool Touch, bool IsDefault);

/// <summary>
/// Everything one VSC file holds, as an immutable value. A mutation builds a new document, saves it, and only then
/// replaces the card's current one, so a failed save leaves memory and disk in agreement. Byte arrays are never
/// changed in place while a document refers to them (they are zeroed only once no document uses them).
/// </summary>
internal sealed record VscDocument
{
    // Header
    public required int FormatVersion { get; init; }

    public required string Id { get; init; }

    public required string Label { get; init; }

    public required string CardType { get; init; }

    public required VscState State { get; init; }

    public required DateTimeOffset Created { get; init; }

    public required DateTimeOffset Modified { get; init; }

    public required VscRole Role { get; init; }

    public required string? Parent { get; init; }

    public required ImmutableSortedDictionary<string, string> Attributes { get; init; }

    public required string AccessConditions { get; init; }

    // Unique-ID area
    public required uint Serial { get; init; }

    public required byte[] CardGuid { get; init; }

    public required string? SourceSerial { get; init; }

    public required byte[]? SourceAtr { get; init; }

    // Public, private and secret-key areas
    public required ImmutableSortedDictionary<uint, byte[]> PublicObjects { get; init; }

    public required ImmutableSortedDictionary<uint, SealedItem> PrivateObjects { get; init; }

    public required ImmutableSortedDictionary<byte, StoredKey> Keys { get; init; }

    // Password area
    public required byte[] AreaPublicKey { get; init; }

    public required WrappedKey PinWrap { get; init; }

    public required WrappedKey PukWrap { get; init; }

    public required int PinRetriesMax { get; init; }

    public required int PinRetriesLeft { get; init; }

    public required int PukRetriesMax { get; init; }

    public required int PukRetriesLeft { get; init; }

    public required bool PinIsDefault { get; init; }

    public required bool PukIsDefault { get; init; }

    public required ManagementKeyData ManagementKey { get; init; }

    public VscHeader ToHeader() =>
        new(FormatVersion, Id, Label, CardType, State, Created, Modified, Role, Parent, Attributes, AccessConditions);
}
