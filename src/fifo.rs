//! A first-in first-out queue on two `Vec`s (pushes go to `back`; pops come
//! from `front`, which holds the oldest items reversed and is refilled from
//! `back` when empty). `VecDeque` would do, but it brings `memmove` and its
//! ring arithmetic: kilobytes of flash for queues of a handful of items.

use alloc::vec::Vec;

#[derive(Debug, Clone)]
pub struct Fifo<T> {
    front: Vec<T>,
    back: Vec<T>,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Fifo<T> {
    pub const fn new() -> Self {
        Fifo { front: Vec::new(), back: Vec::new() }
    }

    pub fn push_back(&mut self, v: T) {
        self.back.push(v);
    }

    /// The oldest item. Taking the last one gives the queue's room back to
    /// the heap: a burst (the boot's AT commands) must not keep its
    /// capacity, unused, for the device's life.
    pub fn pop_front(&mut self) -> Option<T> {
        if self.front.is_empty() {
            while let Some(v) = self.back.pop() {
                self.front.push(v);
            }
        }
        let v = self.front.pop();
        if self.front.is_empty() && self.back.is_empty() {
            self.front = Vec::new();
            self.back = Vec::new();
        }
        v
    }

    pub fn len(&self) -> usize {
        self.front.len() + self.back.len()
    }

    pub fn is_empty(&self) -> bool {
        self.front.is_empty() && self.back.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emptied_queue_holds_no_heap() {
        let mut f = Fifo::new();
        for i in 0..20 {
            f.push_back(i);
        }
        while f.pop_front().is_some() {}
        assert_eq!((f.front.capacity(), f.back.capacity()), (0, 0));
        f.push_back(7);
        assert_eq!(f.pop_front(), Some(7));
    }

    #[test]
    fn first_in_first_out_across_refills() {
        let mut f = Fifo::new();
        f.push_back(1);
        f.push_back(2);
        assert_eq!(f.pop_front(), Some(1));
        f.push_back(3);
        assert_eq!(f.len(), 2);
        assert_eq!(f.pop_front(), Some(2));
        assert_eq!(f.pop_front(), Some(3));
        assert_eq!(f.pop_front(), None);
        assert!(f.is_empty());
    }
}
