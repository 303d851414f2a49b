using Microsoft.Extensions.VectorData;

namespace VectorIndex.VectorData.Tests;

public class ConcurrencyTests
{
    [Fact]
    public async Task Parallel_upserts_deletes_and_searches_leave_a_consistent_collection()
    {
        using var store = new VectorIndexVectorStore();
        var c = store.GetCollection<long, KeyedRecord<long>>("c", new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty("Key", typeof(long)),
                new VectorStoreDataProperty("Text", typeof(string)) { IsIndexed = true },
                new VectorStoreVectorProperty("Vector", typeof(ReadOnlyMemory<float>), 2),
            ],
        });
        await c.EnsureCollectionExistsAsync();
        using var stop = new CancellationTokenSource();

        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            for (long i = w * 500; i < (w + 1) * 500; i++)
            {
                await c.UpsertAsync(new KeyedRecord<long> { Key = i, Text = i % 2 == 0 ? "even" : "odd", Vector = Vectors.Random(random, 2) });
                if (i % 3 == 0)
                {
                    await c.DeleteAsync(i);
                }
            }
        })).ToList();

        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(async () =>
        {
            var random = new Random(100 + r);
            int searches = 0;
            while (!stop.IsCancellationRequested || searches < 10)
            {
                var hits = await c.SearchAsync(Vectors.Random(random, 2), 5, new() { Filter = x => x.Text == "even" }).CollectAsync();
                hits.All(h => h.Record.Key % 2 == 0 && h.Record.Text == "even").Should().BeTrue();
                searches++;
                await Task.Delay(1); // interleave with the writers rather than compete with them for both cores
            }
        })).ToList();

        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        var all = await c.GetAsync(x => true, 10_000).CollectAsync();
        all.Select(r => r.Key).Order().Should().Equal(Enumerable.Range(0, 2000).Select(i => (long)i).Where(i => i % 3 != 0));
        var evens = await c.GetAsync(x => x.Text == "even", 10_000).CollectAsync();
        evens.Should().HaveCount(all.Count(r => r.Key % 2 == 0));
        (await c.SearchAsync(new float[] { 0.5f, 0.5f }, 3000).CollectAsync()).Should().HaveCount(all.Count);
    }
}
