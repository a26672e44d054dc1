import Foundation

/// Writes every byte of `bytes` to `descriptor`, resuming after a signal (EINTR), a partial write,
/// or a full pipe on a non-blocking descriptor (EAGAIN: wait until it drains).
/// - Returns: nil when every byte is written, else the error number of the write that failed.
public func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            if errno == EAGAIN {
                var waiting = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                if poll(&waiting, 1, -1) >= 0 || errno == EINTR { continue }
            }
            return errno
        }
        offset += written
    }
    return nil
}
