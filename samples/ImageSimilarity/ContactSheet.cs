using System.Globalization;
using VectorIndex;

/// <summary>
/// The picture: a title and legend, then one row per query: the query image, the index's neighbours, and the exact
/// neighbours, each upscaled with its class and distance underneath.
/// </summary>
internal static class ContactSheet
{
    private const int Scale = 3;           // 28 px images become 84 px tiles
    private const int Gap = 5;             // between two neighbours
    private const int GroupGap = 28;       // between the query, the index's answer and the exact answer
    private const int Margin = 18;
    private const int CaptionHeight = 4 + (2 * BitmapFont.LineHeight);
    private const int RowGap = 14;

    public static Canvas Draw(
        FashionMnist train,
        FashionMnist test,
        IReadOnlyList<(int Query, IReadOnlyList<SearchResult> Approximate, IReadOnlyList<SearchResult> Exact)> rows,
        int k)
    {
        int tile = train.Side * Scale;
        int groupWidth = (k * tile) + ((k - 1) * Gap);
        int approximateX = Margin + tile + GroupGap;
        int exactX = approximateX + groupWidth + GroupGap;
        int width = exactX + groupWidth + Margin;

        const int TitleY = Margin;
        const int LegendY = TitleY + (7 * 2) + 10;
        const int HeadingY = LegendY + (2 * BitmapFont.LineHeight) + 12;
        int firstRowY = HeadingY + (7 * 2) + 12;
        int rowHeight = tile + CaptionHeight + RowGap;
        var canvas = new Canvas(width, firstRowY + (rows.Count * rowHeight) - RowGap + Margin);

        canvas.Text($"Fashion-MNIST: the {k} nearest of {train.Count:N0} training images to {rows.Count} test images", Margin, TitleY, 2, Rgb.Ink);
        canvas.Text("Under each image: its class (green: the query's class, red: another) and its squared L2 distance to the query (pixels in 0..1).", Margin, LegendY, 1, Rgb.Grey);
        canvas.Text("Orange frame: found by one search, not by the other. The index: HnswIndex, M = 16, EfConstruction = 200, searched at its default ef (64).", Margin, LegendY + BitmapFont.LineHeight, 1, Rgb.Grey);
        canvas.CentredText("query", Margin + (tile / 2), HeadingY, 2, Rgb.Query);
        canvas.CentredText("HnswIndex (approximate)", approximateX + (groupWidth / 2), HeadingY, 2, Rgb.Ink);
        canvas.CentredText("BruteForceIndex (exact)", exactX + (groupWidth / 2), HeadingY, 2, Rgb.Ink);

        for (int r = 0; r < rows.Count; r++)
        {
            (int query, IReadOnlyList<SearchResult> approximate, IReadOnlyList<SearchResult> exact) = rows[r];
            int y = firstRowY + (r * rowHeight);
            byte queryClass = test.Labels[query];
            canvas.Image(Margin, y, test.Image(query), test.Side, Scale);
            canvas.Frame(Margin, y, tile, tile, 3, Rgb.Query);
            canvas.CentredText(FashionMnist.ClassNames[queryClass], Margin + (tile / 2), y + tile + 4, 1, Rgb.Query);
            canvas.CentredText($"test #{query}", Margin + (tile / 2), y + tile + 4 + BitmapFont.LineHeight, 1, Rgb.Grey);

            DrawAnswer(canvas, train, approximate, exact, queryClass, approximateX, y, tile);
            DrawAnswer(canvas, train, exact, approximate, queryClass, exactX, y, tile);
        }

        return canvas;
    }

    /// <summary>One answer's tiles left to right, nearest first; those missing from <paramref name="other"/> framed.</summary>
    private static void DrawAnswer(
        Canvas canvas, FashionMnist train, IReadOnlyList<SearchResult> answer, IReadOnlyList<SearchResult> other, byte queryClass, int x, int y, int tile)
    {
        for (int j = 0; j < answer.Count; j++)
        {
            (ulong key, float distance) = answer[j];
            int tileX = x + (j * (tile + Gap));
            byte label = train.Labels[(int)key];
            canvas.Image(tileX, y, train.Image((int)key), train.Side, Scale);
            if (!other.Any(o => o.Key == key))
            {
                canvas.Frame(tileX, y, tile, tile, 2, Rgb.Mismatch);
            }

            int centre = tileX + (tile / 2);
            canvas.CentredText(FashionMnist.ClassNames[label], centre, y + tile + 4, 1, label == queryClass ? Rgb.SameClass : Rgb.OtherClass);
            canvas.CentredText(distance.ToString("F2", CultureInfo.InvariantCulture), centre, y + tile + 4 + BitmapFont.LineHeight, 1, Rgb.Grey);
        }
    }
}
