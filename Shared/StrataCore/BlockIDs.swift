/// A block's id: the file's inode id in the high 40 bits, the block's index in the file in the
/// low 24 (as Alluxio derives block ids from container ids), so no journal entry is needed to
/// name a block.
public typealias BlockID = UInt64

public enum BlockIDs {
    public static let indexBits: UInt64 = 24
    public static let indexMax: UInt64 = (1 << indexBits) - 1

    public static func block(file: UInt64, index: Int) -> BlockID {
        precondition(file <= (UInt64.max >> indexBits) && UInt64(index) <= indexMax, "file \(file) block \(index) out of range")
        return (file << indexBits) | UInt64(index)
    }

    public static func file(of block: BlockID) -> UInt64 { block >> indexBits }
    public static func index(of block: BlockID) -> Int { Int(block & indexMax) }
}

