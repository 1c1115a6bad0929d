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

    pub fn pop_front(&mut self) -> Option<T> {
        if self.front.is_empty() {
            while let Some(v) = self.back.pop() {
                self.front.push(v);
            }
        }
        self.front.pop()
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
