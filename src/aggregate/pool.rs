//! [`BufferPool`]: large buffers handed from a finished stream to the next (issue 8).
//!
//! The cells of every stream (a Parquet row group or range) build buffers of their own (dense grids of 160 kB, count
//! arrays of up to 32 MB). Allocated afresh, each zeroed page costs a page fault, two when its
//! first access is a read; reused, it costs a fill.

use std::sync::Mutex;

/// At most `max` returned buffers, kept with their capacity.
#[derive(Debug)]
pub(crate) struct BufferPool<T> {
    free: Mutex<Vec<Vec<T>>>,
    max: usize,
}

impl<T> BufferPool<T> {
    /// A pool that keeps at most `max` buffers.
    pub(crate) const fn new(max: usize) -> Self {
        BufferPool {
            free: Mutex::new(Vec::new()),
            max,
        }
    }

    /// An empty buffer: a returned one (with its capacity) if any, else a new one.
    pub(crate) fn take(&self) -> Vec<T> {
        let mut buffer = (self.free.lock().ok())
            .and_then(|mut free| free.pop())
            .unwrap_or_default();
        buffer.clear();
        buffer
    }

    /// Keep `buffer` for a later [`take`](Self::take), unless the pool is full or the buffer
    /// never allocated.
    pub(crate) fn give(&self, buffer: Vec<T>) {
        if buffer.capacity() == 0 {
            return;
        }
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.max {
                free.push(buffer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_with_their_capacity_up_to_the_limit() {
        let pool = BufferPool::<u32>::new(1);
        pool.give(vec![7; 100]);
        pool.give(vec![8; 50]); // the pool is full: dropped
        let reused = pool.take();
        assert!(reused.is_empty() && reused.capacity() >= 100);
        assert_eq!(pool.take().capacity(), 0, "nothing left to reuse");
    }
}
