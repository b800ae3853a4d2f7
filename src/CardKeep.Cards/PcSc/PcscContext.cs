using System.Text;
using CardKeep.Cards.Channels;

namespace CardKeep.Cards.PcSc;

/// <summary>
/// A PC/SC resource-manager context (SCardEstablishContext). Calls on one context are serialised;
/// <see cref="Cancel"/> may be called from any thread to end a blocking <see cref="WaitForChange"/>.
/// Dispose releases the context.
/// </summary>
public sealed unsafe class PcscContext : IDisposable
{
    private readonly Lock _lock = new();
    private nint _handle;

    private PcscContext(nint handle) => _handle = handle;

    /// <summary>Connects to pcscd. Throws <see cref="PcscServiceException"/> (with how to start it) when it is not running.</summary>
    public static PcscContext Establish()
    {
        nint result;
        nint handle;
        try
        {
            result = NativeMethods.EstablishContext(NativeMethods.ScopeSystem, 0, 0, out handle);
        }
        catch (DllNotFoundException e)
        {
            throw new PcscException("libpcsclite.so.1 is not installed: install the 'libpcsclite1' package (scripts/setup.sh does)", e);
        }

        PcscException.ThrowIfError(result, "SCardEstablishContext");
        return new PcscContext(handle);
    }

    public bool IsValid
    {
        get
        {
            lock (_lock)
            {
                return _handle != 0 && NativeMethods.IsValidContext(_handle) == 0;
            }
        }
    }

    internal nint Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle == 0, this);
            return _handle;
        }
    }

    /// <summary>Names of the readers pcscd knows, in its order. Empty when there are none.</summary>
    public IReadOnlyList<string> ListReaders()
    {
        lock (_lock)
        {
            nuint length = 0;
            nint result = NativeMethods.ListReaders(Handle, null, null, ref length);
            if (unchecked((uint)result) == PcscErrors.NoReadersAvailable)
            {
                return [];
            }

            PcscException.ThrowIfError(result, "SCardListReaders");
            var buffer = new byte[(int)length];
            fixed (byte* p = buffer)
            {
                result = NativeMethods.ListReaders(Handle, null, p, ref length);
            }

            if (unchecked((uint)result) == PcscErrors.NoReadersAvailable)
            {
                return [];
            }

            PcscException.ThrowIfError(result, "SCardListReaders");
            return SplitMultiString(buffer.AsSpan(0, (int)length));
        }
    }

    /// <summary>Every reader with its state and the ATR of the card in it.</summary>
    public IReadOnlyList<ReaderStatus> GetReaderStatuses()
    {
        var names = ListReaders();
        if (names.Count == 0)
        {
            return [];
        }

        var known = names.Select(_ => ReaderStates.Unaware).ToArray();
        return WaitForChange(names, known, TimeSpan.Zero) ?? throw new PcscException("SCardGetStatusChange returned no state");
    }

    /// <summary>
    /// Blocks until the state of one of <paramref name="readers"/> differs from <paramref name="known"/>,
    /// or <paramref name="timeout"/> passes (then null). <see cref="Timeout.InfiniteTimeSpan"/> waits forever;
    /// <see cref="Cancel"/> ends the wait with <see cref="PcscCancelledException"/>.
    /// Include <see cref="NativeMethods.PnpNotification"/> to be woken when readers are added or removed.
    /// </summary>
    public IReadOnlyList<ReaderStatus>? WaitForChange(IReadOnlyList<string> readers, IReadOnlyList<ReaderStates> known, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(readers);
        ArgumentNullException.ThrowIfNull(known);
        var states = new NativeMethods.ReaderState[readers.Count];
        var names = new nint[readers.Count];
        try
        {
            for (int i = 0; i < readers.Count; i++)
            {
                names[i] = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(readers[i]);
                states[i].Reader = names[i];
                states[i].CurrentState = (nuint)(uint)known[i];
            }

            uint ms = timeout == Timeout.InfiniteTimeSpan ? NativeMethods.Infinite : (uint)Math.Clamp(timeout.TotalMilliseconds, 0, uint.MaxValue - 1);
            nint result;
            fixed (NativeMethods.ReaderState* p = states)
            {
                // No lock: this call blocks, and SCardCancel on the same context must be able to end it.
                result = NativeMethods.GetStatusChange(Handle, ms, p, (nuint)states.Length);
            }

            if (unchecked((uint)result) == PcscErrors.Timeout)
            {
                return null;
            }

            PcscException.ThrowIfError(result, "SCardGetStatusChange");
            var list = new ReaderStatus[states.Length];
            for (int i = 0; i < states.Length; i++)
            {
                int atrLength = (int)Math.Min(states[i].AtrLength, NativeMethods.MaxAtrSize);
                byte[] atr = new byte[atrLength];
                fixed (byte* a = states[i].Atr)
                {
                    new ReadOnlySpan<byte>(a, atrLength).CopyTo(atr);
                }

                list[i] = new ReaderStatus(readers[i], (ReaderStates)(uint)states[i].EventState, atr);
            }

            return list;
        }
        finally
        {
            foreach (var name in names)
            {
                System.Runtime.InteropServices.Marshal.FreeCoTaskMem(name);
            }
        }
    }

    /// <summary>Ends a blocking <see cref="WaitForChange"/> on this context (SCardCancel). Safe from any thread.</summary>
    public void Cancel()
    {
        nint handle = _handle;
        if (handle != 0)
        {
            _ = NativeMethods.Cancel(handle);
        }
    }

    /// <summary>Connects to the card in <paramref name="reader"/>.</summary>
    public PcscCardChannel Connect(string reader, ShareMode share = ShareMode.Shared, CardProtocol protocols = CardProtocol.Any)
    {
        ArgumentNullException.ThrowIfNull(reader);
        lock (_lock)
        {
            var name = Encoding.UTF8.GetBytes(reader + "\0");
            nint result;
            nint card;
            nuint active;
            fixed (byte* p = name)
            {
                result = NativeMethods.Connect(Handle, p, (nuint)(uint)share, (nuint)(uint)protocols, out card, out active);
            }

            PcscException.ThrowIfError(result, "SCardConnect", reader);
            return new PcscCardChannel(this, reader, card, (CardProtocol)(int)active);
        }
    }

    /// <summary>
    /// Finds a reader by exact name, by index in <see cref="ListReaders"/>, or by a substring that matches one
    /// reader only (case-insensitive). The error lists the readers there are.
    /// </summary>
    public string ResolveReader(string selector) => ReaderSelector.Resolve(ListReaders(), selector);

    internal static IReadOnlyList<string> SplitMultiString(ReadOnlySpan<byte> buffer)
    {
        var names = new List<string>();
        int start = 0;
        for (int i = 0; i < buffer.Length; i++)
        {
            if (buffer[i] == 0)
            {
                if (i > start)
                {
                    names.Add(Encoding.UTF8.GetString(buffer[start..i]));
                }

                start = i + 1;
            }
        }

        if (start < buffer.Length)
        {
            names.Add(Encoding.UTF8.GetString(buffer[start..]));
        }

        return names;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_handle != 0)
            {
                _ = NativeMethods.ReleaseContext(_handle);
                _handle = 0;
            }
        }
    }
}

/// <summary>Reader selection shared by every command that takes <c>--reader</c>.</summary>
public static class ReaderSelector
{
    public static string Resolve(IReadOnlyList<string> readers, string selector)
    {
        ArgumentNullException.ThrowIfNull(readers);
        ArgumentNullException.ThrowIfNull(selector);
        if (readers.Count == 0)
        {
            throw new PcscReaderException("no smart card readers are available (is pcscd running with a reader driver such as vpcd?)");
        }

        if (readers.Contains(selector, StringComparer.Ordinal))
        {
            return selector;
        }

        if (int.TryParse(selector, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index))
        {
            return index < readers.Count
                ? readers[index]
                : throw new PcscReaderException($"there is no reader number {index}; {Listing(readers)}");
        }

        var matches = readers.Where(r => r.Contains(selector, StringComparison.OrdinalIgnoreCase)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new PcscReaderException($"no reader matches '{selector}'; {Listing(readers)}"),
            _ => throw new PcscReaderException($"'{selector}' matches {matches.Count} readers, name one exactly; {Listing(readers)}"),
        };
    }

    private static string Listing(IReadOnlyList<string> readers) =>
        "readers: " + string.Join(", ", readers.Select((r, i) => $"{i}: '{r}'"));
}
