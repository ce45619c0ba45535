/// The per-series loops of exposition, kept tight because a scrape of
/// thousands of series runs them thousands of times: everything goes through
/// the ``StagingBuffer`` as raw copies.
enum SampleWriter {
    /// Counters and gauges: `<cached "name{labels} "><value>\n` per series.
    @inline(__always)
    static func writeSimple<Series>(
        _ core: FamilyCore<Series>, staging: inout StagingBuffer, output: inout [UInt8],
        value: (Series) -> Double
    ) {
        core.forEachSortedValue(value) { value, prefix in
            staging.append(prefix, output: &output)
            staging.appendValueLine(value, output: &output)
        }
    }

    /// Histograms: cumulative `_bucket` lines, `_sum`, and `_count` taken from
    /// the same bucket reads as `le="+Inf"` so the two always agree.
    static func writeHistograms(
        _ core: FamilyCore<Histogram>, layout: BucketLayout,
        names: (bucket: [UInt8], sum: [UInt8], count: [UInt8]),
        staging: inout StagingBuffer, output: inout [UInt8]
    ) {
        core.forEachSorted { histogram, block in  // block: {a="x"} or empty
            let inner = block.isEmpty ? block : UnsafeBufferPointer(rebasing: block[1 ..< block.count - 1])
            var cumulative: UInt64 = 0
            for bucket in 0...layout.finiteCount {
                cumulative &+= histogram.bucketCount(bucket)
                staging.append(names.bucket, output: &output)
                if !inner.isEmpty {
                    staging.append(inner, output: &output)
                    staging.append(UInt8(ascii: ","), output: &output)
                }
                staging.append(layout.leFragments[bucket], output: &output)
                staging.appendValueLine(Double(cumulative), output: &output)
            }
            staging.append(names.sum, output: &output)
            staging.append(block, output: &output)
            staging.append(UInt8(ascii: " "), output: &output)
            staging.appendValueLine(histogram.sum, output: &output)
            staging.append(names.count, output: &output)
            staging.append(block, output: &output)
            staging.append(UInt8(ascii: " "), output: &output)
            staging.appendValueLine(Double(cumulative), output: &output)  // == the +Inf bucket, by construction
        }
    }
}
