/// <summary>A colour, one byte per channel.</summary>
internal readonly record struct Rgb(byte R, byte G, byte B)
{
    public static readonly Rgb White = new(255, 255, 255);
    public static readonly Rgb Ink = new(32, 32, 32);
    public static readonly Rgb Grey = new(110, 110, 110);
    public static readonly Rgb SameClass = new(0, 120, 40);
    public static readonly Rgb OtherClass = new(190, 20, 20);
    public static readonly Rgb Mismatch = new(240, 140, 0);
    public static readonly Rgb Query = new(40, 90, 200);
}

/// <summary>An RGB picture in memory, white to start with, to draw tiles, frames and text on and save as PNG.</summary>
internal sealed class Canvas
{
    private readonly byte[] _rgb;

    public Canvas(int width, int height)
    {
        Width = width;
        Height = height;
        _rgb = new byte[width * height * 3];
        Array.Fill(_rgb, (byte)255);
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Sets one pixel; pixels outside the canvas are ignored, so callers need not clip.</summary>
    public void Set(int x, int y, Rgb colour)
    {
        if ((uint)x < (uint)Width && (uint)y < (uint)Height)
        {
            int i = ((y * Width) + x) * 3;
            (_rgb[i], _rgb[i + 1], _rgb[i + 2]) = (colour.R, colour.G, colour.B);
        }
    }

    public void Fill(int x, int y, int width, int height, Rgb colour)
    {
        for (int row = y; row < y + height; row++)
        {
            for (int column = x; column < x + width; column++)
            {
                Set(column, row, colour);
            }
        }
    }

    /// <summary>A frame of <paramref name="thickness"/> pixels just outside the rectangle, so it hides nothing in it.</summary>
    public void Frame(int x, int y, int width, int height, int thickness, Rgb colour)
    {
        Fill(x - thickness, y - thickness, width + (2 * thickness), thickness, colour);
        Fill(x - thickness, y + height, width + (2 * thickness), thickness, colour);
        Fill(x - thickness, y, thickness, height, colour);
        Fill(x + width, y, thickness, height, colour);
    }

    /// <summary>A square grey image, each pixel drawn as a <paramref name="scale"/> x <paramref name="scale"/> block.</summary>
    public void Image(int x, int y, ReadOnlySpan<byte> grey, int side, int scale)
    {
        for (int row = 0; row < side; row++)
        {
            for (int column = 0; column < side; column++)
            {
                byte v = grey[(row * side) + column];
                Fill(x + (column * scale), y + (row * scale), scale, scale, new Rgb(v, v, v));
            }
        }
    }

    public void Text(string text, int x, int y, int scale, Rgb colour) =>
        BitmapFont.Draw(text, x, y, scale, (px, py) => Set(px, py, colour));

    /// <summary>Text centred on <paramref name="centreX"/>.</summary>
    public void CentredText(string text, int centreX, int y, int scale, Rgb colour) =>
        Text(text, centreX - (BitmapFont.Measure(text, scale) / 2), y, scale, colour);

    public void SavePng(string path) => Png.Write(path, Width, Height, _rgb);
}
