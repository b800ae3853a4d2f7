using System.CommandLine;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Cli;

/// <summary>Where CardKeep keeps its data: <c>--store</c>, else <c>$CARDKEEP_HOME/vsc</c>, else the XDG data folder.</summary>
internal static class Paths
{
    public static readonly Option<string?> StoreOption = new("--store")
    {
        Description = "VSC store folder (default: $CARDKEEP_HOME/vsc, else $XDG_DATA_HOME/cardkeep/vsc, else ~/.local/share/cardkeep/vsc)",
        Recursive = true,
    };

    public static VscStore Store(ParseResult parse) => new(parse.GetValue(StoreOption) ?? VscStore.DefaultDirectory());
}
