using VectorIndex.Orleans.Grains;

namespace VectorIndex.Orleans.Tests;

/// <summary>
/// When a fresh sequencer may hand out sequence numbers: only once the replicas that answered must include one holding
/// every acknowledged write (R - W + 1 that kept their data), or every replica answered.
/// </summary>
public class SequencerQuorumTests
{
    // One letter per replica: 'i' answered with its data, 'c' answered having lost its data, '-' did not answer.
    [Theory]
    [InlineData("i-", 1, false)] // W = 1: the silent replica may alone hold the last acknowledged writes
    [InlineData("ii", 1, true)]
    [InlineData("ci", 1, true)] // every replica answered: the lost data is lost, waiting cannot bring it back
    [InlineData("c-", 1, false)]
    [InlineData("i-", 2, true)] // W = R = 2: every acknowledged write is on the one that answered
    [InlineData("-i", 2, true)]
    [InlineData("c-", 2, false)]
    [InlineData("ci-", 2, false)] // R = 3, W = 2: a write on the lost one and the silent one is not on the third
    [InlineData("ii-", 2, true)]
    [InlineData("i--", 3, true)]
    [InlineData("i--", 1, false)]
    [InlineData("-", 1, false)]
    [InlineData("i", 1, true)]
    public void A_fresh_sequencer_knows_the_last_number_only_from_enough_replicas(string replicas, int writeQuorum, bool knows)
    {
        ReplicaStatus?[] statuses = [.. replicas.Select(c => c switch
        {
            'i' => new ReplicaStatus { AppliedLsn = 10 },
            'c' => new ReplicaStatus { AppliedLsn = -1, NeedsCopy = true },
            _ => null,
        })];

        ShardSequencerGrain.KnowsLastLsn(statuses, writeQuorum).Should().Be(knows);
    }
}
