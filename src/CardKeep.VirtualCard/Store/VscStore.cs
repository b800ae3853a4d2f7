using System.Security.Cryptography;

namespace CardKeep.VirtualCard.Store;

/// <summary>
/// A folder of virtual smart cards, one <c>&lt;Id&gt;.vsc</c> file each (mode 0600; the folder is created 0700).
/// Cards are found by Id or, failing that, by a unique label. Opening a card for use takes its exclusive lock
/// (<c>&lt;Id&gt;.lock</c>), held until the card is disposed, so two CardKeep processes never write one card.
/// </summary>
public sealed class VscStore
{
    /// <summary>File name extension of card files.</summary>
    public const string FileExtension = ".vsc";

    private const string LockExtension = ".lock";

    private readonly bool _allowWeakKdf;

    /// <summary>A store over <paramref name="directory"/> (created on first write).</summary>
    /// <param name="directory">The folder holding the card files.</param>
    /// <param name="options">Only <see cref="VscOpenOptions.AllowWeakKdfForTests"/> is used (for tests).</param>
    public VscStore(string directory, VscOpenOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        DirectoryPath = Path.GetFullPath(directory);
        _allowWeakKdf = options?.AllowWeakKdfForTests ?? false;
    }

    /// <summary>Full path of the store folder.</summary>
    public string DirectoryPath { get; }

    /// <summary>
    /// The default store folder: <c>$CARDKEEP_HOME/vsc</c> if set, else <c>$XDG_DATA_HOME/cardkeep/vsc</c> (absolute
    /// paths only, per the XDG spec), else <c>~/.local/share/cardkeep/vsc</c>.
    /// </summary>
    public static string DefaultDirectory() =>
        DefaultDirectory(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>Lists every <c>*.vsc</c> file, sorted by file name. A file that fails the check is listed with its damage, not thrown.</summary>
    public IReadOnlyList<VscListing> List()
    {
        if (!Directory.Exists(DirectoryPath))
        {
            return [];
        }

        var listings = new List<VscListing>();
        var files = Directory.EnumerateFiles(DirectoryPath)
            .Where(f => string.Equals(Path.GetExtension(f), FileExtension, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (string file in files)
        {
            listings.Add(Describe(file));
        }

        return listings;
    }

    /// <summary>The file path for card <paramref name="id"/> (validates the Id).</summary>
    public string PathFor(string id)
    {
        VscRules.Require(VscRules.CheckId(id), nameof(id));
        return Path.Combine(DirectoryPath, id + FileExtension);
    }

    /// <summary>
    /// Creates a card in the store and returns it open and locked (dispose it to release the lock). A missing Id
    /// becomes "VSC-" + serial. Refuses an Id that already exists.
    /// </summary>
    public VirtualSmartCard Create(VscCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        EnsureDirectory();
        uint serial = options.Serial ?? VscSerial.NewRandom();
        for (int attempt = 0; options.Id is null && options.Serial is null && attempt < 10 && File.Exists(PathFor($"VSC-{serial}")); attempt++)
        {
            serial = VscSerial.NewRandom();
        }

        string id = options.Id ?? $"VSC-{serial}";
        string path = PathFor(id);
        var heldLock = Lock(id);
        try
        {
            if (File.Exists(path))
            {
                throw new VscException($"a VSC with Id '{id}' already exists in {DirectoryPath}");
            }

            CleanStrayTemporaries(path);
            var card = VirtualSmartCard.Create(path, options with { Id = id, Serial = serial });
            card.AttachLock(heldLock);
            return card;
        }
        catch
        {
            heldLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a card for use by Id, else by unique label, after the consistency check, and takes its lock (released when
    /// the card is disposed). Throws <see cref="VscException"/> for an unknown or ambiguous name,
    /// <see cref="VscInUseException"/> when another process holds the card, <see cref="VscFormatException"/> when damaged.
    /// </summary>
    public VirtualSmartCard Open(string idOrLabel)
    {
        string id = Resolve(idOrLabel);
        string path = PathFor(id);
        var heldLock = Lock(id);
        try
        {
            CleanStrayTemporaries(path);
            var card = VirtualSmartCard.Open(path, new VscOpenOptions { AllowWeakKdfForTests = _allowWeakKdf });
            if (card.Header.Id != id)
            {
                card.Dispose();
                throw new VscFormatException(path, MisnamedReason(card.Header.Id));
            }

            card.AttachLock(heldLock);
            return card;
        }
        catch
        {
            heldLock.Dispose();
            throw;
        }
    }

    /// <summary>Opens a card read-only (no lock; every mutation, including PIN verification, throws). For show/inspect.</summary>
    public VirtualSmartCard OpenReadOnly(string idOrLabel) =>
        VirtualSmartCard.Open(PathFor(Resolve(idOrLabel)), new VscOpenOptions { AllowWeakKdfForTests = _allowWeakKdf, ReadOnly = true });

    /// <summary>Deletes a card's file (by Id, else unique label) under its lock. Works for damaged files too (by Id).</summary>
    public void Delete(string idOrLabel)
    {
        string id = Resolve(idOrLabel);
        using (Lock(id))
        {
            string path = PathFor(id);
            AtomicFile.Delete(path);
            CleanStrayTemporaries(path);
            AtomicFile.TryDelete(LockPathFor(id));
        }
    }

    /// <summary>
    /// Copies a card's file to <paramref name="destinationFile"/> (which must not exist) after the consistency check,
    /// writing exactly the bytes that were checked, atomically and with mode 0600. Returns the full destination path.
    /// </summary>
    public string Export(string idOrLabel, string destinationFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(destinationFile);
        string path = PathFor(Resolve(idOrLabel));
        string destination = Path.GetFullPath(destinationFile);
        if (File.Exists(destination))
        {
            throw new VscException($"'{destination}' already exists; choose another file");
        }

        var bytes = VirtualSmartCard.ReadCapped(path);
        try
        {
            VirtualSmartCard.ZeroPlainSecrets(new VscDecoder(path, _allowWeakKdf).Decode(bytes));
            AtomicFile.Write(destination, bytes, overwrite: false);
            return destination;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>
    /// Imports a card file after the consistency check. Refuses an Id that is already in the store unless
    /// <paramref name="replace"/> is true (then the card's lock is needed: it must not be in use). Returns its header.
    /// </summary>
    public VscHeader Import(string sourceFile, bool replace = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourceFile);
        string source = Path.GetFullPath(sourceFile);
        var bytes = VirtualSmartCard.ReadCapped(source);
        try
        {
            var document = new VscDecoder(source, _allowWeakKdf).Decode(bytes);
            VirtualSmartCard.ZeroPlainSecrets(document);
            string id = document.Id;
            EnsureDirectory();
            using (Lock(id))
            {
                string path = PathFor(id);
                if (File.Exists(path) && !replace)
                {
                    throw new VscException($"a VSC with Id '{id}' already exists in {DirectoryPath}; import with replace to overwrite it");
                }

                CleanStrayTemporaries(path);
                AtomicFile.Write(path, bytes, overwrite: replace);
            }

            return document.ToHeader();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>
    /// Takes the exclusive lock of card <paramref name="id"/> (a <c>&lt;Id&gt;.lock</c> file held with flock; released on
    /// dispose or when the process dies). Throws <see cref="VscInUseException"/> ("VSC X is in use by another CardKeep
    /// process (pid N)") when it is held, also by this process. Open, Create, Delete and Import take it themselves.
    /// </summary>
    public IDisposable Lock(string id)
    {
        VscRules.Require(VscRules.CheckId(id), nameof(id));
        EnsureDirectory();
        return VscLock.Acquire(LockPathFor(id), id);
    }

    internal static string DefaultDirectory(Func<string, string?> environment, string userHome)
    {
        if (environment("CARDKEEP_HOME") is { Length: > 0 } home)
        {
            return Path.Combine(home, "vsc");
        }

        if (environment("XDG_DATA_HOME") is { Length: > 0 } dataHome && Path.IsPathRooted(dataHome))
        {
            return Path.Combine(dataHome, "cardkeep", "vsc");
        }

        return Path.Combine(userHome, ".local", "share", "cardkeep", "vsc");
    }

    private static string MisnamedReason(string innerId) =>
        $"the file name does not match the card Id inside it ('{innerId}'); rename it to {innerId}{FileExtension}";

    private static void CleanStrayTemporaries(string path)
    {
        foreach (string stray in AtomicFile.StrayTemporaries(path))
        {
            AtomicFile.TryDelete(stray);
        }
    }

    private VscListing Describe(string file)
    {
        string stem = Path.GetFileNameWithoutExtension(file);
        try
        {
            var d = VirtualSmartCard.ReadDocument(file, _allowWeakKdf);
            VirtualSmartCard.ZeroPlainSecrets(d);
            return d.Id == stem
                ? new VscListing(d.Id, d.Label, file, d.State, d.Serial, d.Role, d.Parent, null)
                : Damaged(stem, file, MisnamedReason(d.Id));
        }
        catch (VscFormatException ex)
        {
            return Damaged(stem, file, ex.Reason ?? ex.Message);
        }
        catch (IOException ex)
        {
            return Damaged(stem, file, $"cannot be read: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            return Damaged(stem, file, $"cannot be read: {ex.Message}");
        }

        static VscListing Damaged(string stem, string file, string reason) => new(stem, "", file, null, null, null, null, reason);
    }

    private string Resolve(string idOrLabel)
    {
        ArgumentException.ThrowIfNullOrEmpty(idOrLabel);
        if (VscRules.CheckId(idOrLabel) is null && File.Exists(PathFor(idOrLabel)))
        {
            return idOrLabel;
        }

        var matches = List().Where(l => !l.IsDamaged && l.Label == idOrLabel).ToList();
        return matches.Count switch
        {
            1 => matches[0].Id,
            0 => throw new VscException($"no VSC with Id or label '{idOrLabel}' in {DirectoryPath}"),
            _ => throw new VscException($"label '{idOrLabel}' is ambiguous: it matches {string.Join(", ", matches.Select(m => m.Id))}; use the Id"),
        };
    }

    private string LockPathFor(string id) => Path.Combine(DirectoryPath, id + LockExtension);

    private void EnsureDirectory()
    {
        if (Directory.Exists(DirectoryPath))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(DirectoryPath);
        }
        else
        {
            Directory.CreateDirectory(DirectoryPath, AtomicFile.DirectoryMode0700);
        }
    }
}
