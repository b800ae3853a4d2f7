using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace CardKeep.Cards.Piv;

/// <summary>
/// Raw RSA private operation (m = c^d mod n, no padding) through the machine's OpenSSL 3, which .NET on Linux
/// already uses for every RSA operation: constant-time, blinded, with OpenSSL's own CRT fault check. .NET offers
/// no unpadded RSA, and PIV cards receive blocks the host has padded already. A thin binding: the key comes from
/// .NET's <see cref="RSAOpenSsl"/> as an EVP_PKEY handle; the calls are EVP_PKEY_decrypt with RSA_NO_PADDING.
/// </summary>
internal static unsafe partial class OpenSslRawRsa
{
    private const string Library = "libcrypto.so.3";
    private const int RsaNoPadding = 3;
    private static int _available = -1;

    /// <summary>Computes the raw private operation into <paramref name="output"/> (modulus length); false when OpenSSL 3 is not available.</summary>
    public static bool TryPrivate(in RSAParameters parameters, ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (_available == 0)
        {
            return false;
        }

        try
        {
            using var rsa = new RSAOpenSsl(parameters);
            using var key = rsa.DuplicateKeyHandle();
            nint context = EvpPkeyCtxNew(key, 0);
            if (context == 0)
            {
                throw new CryptographicException("EVP_PKEY_CTX_new failed");
            }

            try
            {
                nuint length = (nuint)output.Length;
                int result;
                fixed (byte* source = input)
                fixed (byte* destination = output)
                {
                    result = EvpPkeyDecryptInit(context) > 0 && EvpPkeyCtxSetRsaPadding(context, RsaNoPadding) > 0
                        ? EvpPkeyDecrypt(context, destination, ref length, source, (nuint)input.Length)
                        : 0;
                }

                if (result <= 0 || length != (nuint)output.Length)
                {
                    ErrClearError();
                    throw new CryptographicException("OpenSSL raw RSA operation failed");
                }
            }
            finally
            {
                EvpPkeyCtxFree(context);
            }

            _available = 1;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _available = 0;
            return false;
        }
    }

    [LibraryImport(Library, EntryPoint = "EVP_PKEY_CTX_new")]
    private static partial nint EvpPkeyCtxNew(SafeEvpPKeyHandle key, nint engine);

    [LibraryImport(Library, EntryPoint = "EVP_PKEY_CTX_free")]
    private static partial void EvpPkeyCtxFree(nint context);

    [LibraryImport(Library, EntryPoint = "EVP_PKEY_decrypt_init")]
    private static partial int EvpPkeyDecryptInit(nint context);

    [LibraryImport(Library, EntryPoint = "EVP_PKEY_CTX_set_rsa_padding")]
    private static partial int EvpPkeyCtxSetRsaPadding(nint context, int padding);

    [LibraryImport(Library, EntryPoint = "EVP_PKEY_decrypt")]
    private static partial int EvpPkeyDecrypt(nint context, byte* output, ref nuint outputLength, byte* input, nuint inputLength);

    [LibraryImport(Library, EntryPoint = "ERR_clear_error")]
    private static partial void ErrClearError();
}
