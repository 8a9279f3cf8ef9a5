package dev.tract.activities;

/** What a writer of shared stage outputs asks of its attempt: whether it may still write, and to show it lives. */
interface Lease {
    /** Whether another attempt may be running instead of this one (see {@link Heartbeats#leaseLost()}). */
    boolean leaseLost();

    /** Heartbeats now (during long retries). */
    void beat();
}
