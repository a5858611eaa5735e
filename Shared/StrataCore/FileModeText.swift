/// A mode's permission bits as `ls -l` shows them (`drwxr-xr-x`), for the shell and the web UI.
public enum FileModeText {
    public static func format(_ mode: UInt32, directory: Bool) -> String {
        var text = directory ? "d" : "-"
        for shift in [6, 3, 0] {
            let bits = (mode >> UInt32(shift)) & 7
            text += (bits & 4 != 0 ? "r" : "-") + (bits & 2 != 0 ? "w" : "-") + (bits & 1 != 0 ? "x" : "-")
        }
        return text
    }
}
