//! A framebuffer plus the log of the rectangle moves (scrolls) made on it, so a VNC session
//! that is a few moves behind can replay them as CopyRect instead of resending pixels.

use std::collections::VecDeque;

use crate::consoles::framebuffer::{Framebuffer, Rect};

/// Moves kept for sessions to catch up with.
const MOVES_KEPT: usize = 64;

/// One rectangle move: `src` was copied to (`dst_x`, `dst_y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub seq: u64,
    pub src: Rect,
    pub dst_x: usize,
    pub dst_y: usize,
}

#[derive(Debug, Clone)]
pub struct Display {
    pub fb: Framebuffer,
    moves: VecDeque<Move>,
    seq: u64,
}

impl Display {
    pub fn new(fb: Framebuffer) -> Self {
        Self {
            fb,
            moves: VecDeque::new(),
            seq: 0,
        }
    }

    /// The number of moves made so far.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Move a rectangle and log the move.
    pub fn move_rect(&mut self, src: Rect, dst_x: usize, dst_y: usize) {
        self.fb.copy_rect(src, dst_x, dst_y);
        self.seq += 1;
        self.moves.push_back(Move {
            seq: self.seq,
            src,
            dst_x,
            dst_y,
        });
        while self.moves.len() > MOVES_KEPT {
            self.moves.pop_front();
        }
    }

    /// The moves after `seq`, or None when the log no longer reaches back that far.
    pub fn moves_since(&self, seq: u64) -> Option<Vec<Move>> {
        if seq >= self.seq {
            return Some(Vec::new());
        }
        let oldest = self.moves.front().map(|m| m.seq)?;
        if seq + 1 < oldest {
            return None;
        }
        Some(self.moves.iter().filter(|m| m.seq > seq).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_are_replayable_until_they_fall_out_of_the_log() {
        let mut display = Display::new(Framebuffer::new(8, 8, 0));
        display.move_rect(Rect::new(0, 1, 8, 7), 0, 0);
        assert_eq!(display.moves_since(0).unwrap().len(), 1);
        assert!(display.moves_since(1).unwrap().is_empty());
        for _ in 0..MOVES_KEPT + 1 {
            display.move_rect(Rect::new(0, 1, 8, 7), 0, 0);
        }
        assert!(display.moves_since(0).is_none());
        assert_eq!(display.moves_since(display.seq() - 2).unwrap().len(), 2);
    }
}
