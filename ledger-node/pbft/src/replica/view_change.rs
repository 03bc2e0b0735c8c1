//! View changes (§4.4): timers, view-change and new-view messages, and the new primary's re-proposals.

use super::*;

impl Replica {
    pub(super) fn arm_view_change_timer(&mut self, out: &mut Vec<Effect>) {
        // §4.5.2: during a view change the timer runs only once 2f+1 replicas want this view,
        // whoever asks for it (a restart, new transactions, a block from state transfer).
        // Otherwise a replica leaves for the next view alone, and the replicas it leaves behind
        // may never see 2f+1 for theirs while it alone cannot pull them up (f+1 rule).
        if self.in_view_change && self.view_changes.get(&self.view).map_or(0, BTreeMap::len) < self.quorum() {
            return;
        }
        self.view_change_timer_set = true;
        self.timer_for = self.mempool.front().map(|(d, ..)| *d);
        let factor = 1u32 << self.view_change_attempts.min(6);
        out.push(Effect::SetTimer(
            TimerKind::ViewChange,
            self.config.view_change_timeout * factor,
        ));
    }

    pub(super) fn start_view_change(&mut self, new_view: View, out: &mut Vec<Effect>) {
        if new_view <= self.view && self.in_view_change {
            return;
        }
        self.view = new_view;
        self.in_view_change = true;
        self.stats.view_changes += 1;
        self.batch_timer_set = false;
        out.push(Effect::CancelTimer(TimerKind::Batch));
        let m = self.vote(self.view_change_message(new_view), out);
        self.view_changes.entry(new_view).or_default().insert(self.id, m);
        // §4.5.2: the timer for the new view starts only once 2f+1 replicas want it, so a lone
        // replica never races ahead through views the others are not in.
        if self.view_change_timer_set {
            self.view_change_timer_set = false;
            out.push(Effect::CancelTimer(TimerKind::ViewChange));
        }
        self.arm_on_view_change_quorum(out);
        self.try_new_view(new_view, out);
    }

    /// ⟨VIEW-CHANGE, v, n, C, P, i⟩ (§4.4): the stable checkpoint and the prepared
    /// certificates above it.
    pub(super) fn view_change_message(&self, new_view: View) -> Message {
        let prepared: Vec<PreparedCert> = self
            .prepared_certs
            .range(SeqNo(self.stable.seq.0 + 1)..)
            .map(|(_, c)| c.clone())
            .take(MAX_PREPARED_CERTS)
            .collect();
        Message::ViewChange {
            new_view,
            checkpoint: self.stable.clone(),
            prepared,
        }
    }

    /// Until the view change completes, repeats this replica's view-change message (the network
    /// may have lost it; nothing else would resend it). If it has none for its view — a
    /// validator-set change voids the view changes in flight, its own included, as their
    /// checkpoints belong to the old set's epoch — it sends a new one from the new epoch's base,
    /// which the set that now orders blocks can check. (It used to rely on its timer, started
    /// regardless of 2f+1, to move on to the next view with a fresh message.)
    pub(super) fn repeat_view_change(&mut self, out: &mut Vec<Effect>) {
        // A replica a set change removed only follows: it has no view change to send.
        if !self.in_view_change || !self.active {
            return;
        }
        if let Some(own) = self.view_changes.get(&self.view).and_then(|by| by.get(&self.id)) {
            out.push(Effect::Broadcast(own.clone()));
            return;
        }
        let view = self.view;
        let m = self.vote(self.view_change_message(view), out);
        self.view_changes.entry(view).or_default().insert(self.id, m);
        self.arm_on_view_change_quorum(out);
        self.try_new_view(view, out);
    }

    pub(super) fn arm_on_view_change_quorum(&mut self, out: &mut Vec<Effect>) {
        let votes = self.view_changes.get(&self.view).map_or(0, BTreeMap::len);
        if self.in_view_change && !self.view_change_timer_set && votes >= self.quorum() {
            self.arm_view_change_timer(out);
        }
    }

    pub(super) fn on_timeout(&mut self, kind: TimerKind, out: &mut Vec<Effect>) {
        match kind {
            TimerKind::Batch => {
                self.batch_timer_set = false;
                if self.is_primary() && !self.in_view_change {
                    self.propose(out);
                }
            }
            TimerKind::ViewChange => {
                self.view_change_timer_set = false;
                if self.in_view_change || !self.mempool.is_empty() {
                    self.view_change_attempts = self.view_change_attempts.saturating_add(1);
                    let next = View(self.view.0 + 1);
                    self.start_view_change(next, out);
                }
            }
            TimerKind::Sync => {
                let m = self.sign(Message::Status {
                    executed: self.executed,
                });
                out.push(Effect::Broadcast(m));
                self.repeat_view_change(out);
                out.push(Effect::SetTimer(TimerKind::Sync, self.config.sync_interval));
            }
            TimerKind::Heartbeat => {
                if self.active && !self.in_view_change && !self.config.broken.no_heartbeat {
                    if self.is_primary() {
                        if self.idle() {
                            self.propose_empty(out);
                        }
                    } else if self.primary_silent() {
                        // A primary that lets the chain go stale stalls every reader as surely
                        // as one that censors: replace it as §4.4 replaces a slow one.
                        self.view_change_attempts = self.view_change_attempts.saturating_add(1);
                        self.start_view_change(View(self.view.0 + 1), out);
                    }
                }
                out.push(Effect::SetTimer(TimerKind::Heartbeat, self.heartbeat_check()));
            }
        }
    }

    /// Checks a view-change message's proofs; returns its prepared certificates' (seq, view,
    /// batch) if valid.
    pub(super) fn valid_view_change(&self, m: &SignedMessage) -> Option<ValidViewChange> {
        let Message::ViewChange {
            new_view,
            checkpoint,
            prepared,
        } = &m.message
        else {
            return None;
        };
        if !self.valid_checkpoint_proof(checkpoint) || prepared.len() > MAX_PREPARED_CERTS {
            return None;
        }
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for cert in prepared {
            let (view, seq, batch) = pre_prepare_parts(&cert.pre_prepare)?;
            if view >= *new_view
                || seq <= checkpoint.seq
                || seq.0 > checkpoint.seq.0 + LOG_WINDOW
                || !seen.insert(seq)
                || cert.pre_prepare.from != self.primary(view)
                || self.verify_message(&cert.pre_prepare).is_err()
            {
                return None;
            }
            let digest = batch.digest(seq);
            let mut signers = BTreeSet::new();
            for p in &cert.prepares {
                let ok = matches!(p.message, Message::Prepare { view: v, seq: s, digest: d } if v == view && s == seq && d == digest);
                if !ok
                    || p.from == cert.pre_prepare.from
                    || !signers.insert(p.from)
                    || self.verify_message(p).is_err()
                {
                    return None;
                }
            }
            if signers.len() + 1 < self.quorum() {
                return None;
            }
            out.push((seq, view, batch.clone()));
        }
        Some((*new_view, checkpoint.seq, out))
    }

    pub(super) fn on_view_change(&mut self, m: SignedMessage, out: &mut Vec<Effect>) {
        let Some((new_view, _, _)) = self.valid_view_change(&m) else {
            return self.drop(DropReason::BadProof);
        };
        if new_view < self.view || (new_view == self.view && !self.in_view_change) {
            // The sender is still trying to reach a view this replica has left.
            self.help_lagging(m.from, new_view, out);
            return self.drop(DropReason::Stale);
        }
        self.view_changes.entry(new_view).or_default().insert(m.from, m);
        self.bound_view_changes();
        // §4.5.2: f+1 replicas want a higher view — join the smallest of them.
        let ahead: BTreeSet<ReplicaId> = self
            .view_changes
            .range(View(self.view.0 + 1)..)
            .flat_map(|(_, by)| by.keys().copied())
            .collect();
        if ahead.len() > self.f() {
            let target = self
                .view_changes
                .range(View(self.view.0 + 1)..)
                .find(|(_, by)| !by.is_empty())
                .map(|(v, _)| *v)
                .expect("non-empty");
            self.start_view_change(target, out);
        }
        self.arm_on_view_change_quorum(out);
        self.try_new_view(new_view, out);
    }

    /// Bounds memory: forgets view changes far ahead.
    pub(super) fn bound_view_changes(&mut self) {
        while self.view_changes.len() > MAX_VIEW_CHANGE_VIEWS {
            self.view_changes.pop_last();
        }
    }

    /// Answers a replica whose view change asks for `their_view`, a view this replica has left
    /// or entered already, with what lets it meet the others again. §4.5.2's liveness argument
    /// assumes messages are retransmitted until received; this replica repeats only its latest
    /// view change, so a lost one for an earlier view would otherwise be lost for good, and
    /// replicas left in that view could stay one short of 2f+1 while fewer than f+1 replicas
    /// are ahead to pull them up. It sends, at most once per sync interval per replica:
    /// - the new-view message of the latest view it entered, if not below theirs: they accept
    ///   it and enter that view (§4.4);
    /// - the view changes it holds for their view, its own included: with those of replicas
    ///   that moved on they reach 2f+1, so their timer starts or their primary sends NEW-VIEW;
    /// - for views above theirs, the lowest view change of each of up to f+1 replicas: the f+1
    ///   rule then moves them to the smallest of those views.
    pub(super) fn help_lagging(&mut self, to: ReplicaId, their_view: View, out: &mut Vec<Effect>) {
        let interval = u64::try_from(self.config.sync_interval.as_millis()).unwrap_or(u64::MAX);
        if to == self.id
            || self
                .catch_up_sent
                .get(&to)
                .is_some_and(|at| self.now_ms < at.saturating_add(interval))
        {
            return;
        }
        self.catch_up_sent.insert(to, self.now_ms);
        if let Some(nv) = &self.last_new_view
            && matches!(nv.message, Message::NewView { view, .. } if view >= their_view)
        {
            out.push(Effect::Send(to, nv.clone()));
        }
        if let Some(by) = self.view_changes.get(&their_view) {
            for vc in by.values().filter(|vc| vc.from != to) {
                out.push(Effect::Send(to, vc.clone()));
            }
        }
        let mut ahead = BTreeSet::new();
        for (_, by) in self.view_changes.range(View(their_view.0.saturating_add(1))..) {
            for vc in by.values() {
                if ahead.len() > self.f() {
                    return;
                }
                if vc.from != to && ahead.insert(vc.from) {
                    out.push(Effect::Send(to, vc.clone()));
                }
            }
        }
    }

    /// Computes O for a new view from a set of valid view changes (§4.4): re-propose the
    /// highest-view prepared batch at each sequence in (min-s, max-s], a null batch elsewhere.
    pub(super) fn new_view_batches(
        &self,
        view: View,
        vcs: &[SignedMessage],
    ) -> Option<(SeqNo, BTreeMap<SeqNo, Batch>)> {
        let mut min_s = SeqNo(0);
        let mut best: BTreeMap<SeqNo, (View, Batch)> = BTreeMap::new();
        for m in vcs {
            let (_, checkpoint_seq, certs) = self.valid_view_change(m)?;
            min_s = min_s.max(checkpoint_seq);
            if self.config.broken.drop_prepared_in_new_view {
                continue;
            }
            for (seq, v, batch) in certs {
                if best.get(&seq).is_none_or(|(bv, _)| v > *bv) {
                    best.insert(seq, (v, batch));
                }
            }
        }
        let max_s = best.keys().next_back().copied().unwrap_or(min_s).max(min_s);
        let batches = (min_s.0 + 1..=max_s.0)
            .map(SeqNo)
            .map(|s| {
                (
                    s,
                    best.get(&s).map(|(_, b)| b.clone()).unwrap_or(Batch::null(view)),
                )
            })
            .collect();
        Some((min_s, batches))
    }

    pub(super) fn try_new_view(&mut self, view: View, out: &mut Vec<Effect>) {
        if self.primary(view) != self.id || self.new_view_sent.contains(&view) || view != self.view {
            return;
        }
        let Some(by) = self.view_changes.get(&view) else {
            return;
        };
        if by.len() < self.quorum() {
            return;
        }
        let vcs: Vec<SignedMessage> = by.values().take(self.quorum()).cloned().collect();
        let Some((min_s, batches)) = self.new_view_batches(view, &vcs) else {
            return;
        };
        let pre_prepares: Vec<SignedMessage> = batches
            .iter()
            .map(|(seq, batch)| {
                self.sign(Message::PrePrepare {
                    view,
                    seq: *seq,
                    batch: batch.clone(),
                })
            })
            .collect();
        self.new_view_sent.insert(view);
        self.vote(
            Message::NewView {
                view,
                view_changes: vcs,
                pre_prepares: pre_prepares.clone(),
            },
            out,
        );
        self.enter_view(view, min_s, pre_prepares, out);
    }

    pub(super) fn on_new_view(&mut self, m: SignedMessage, out: &mut Vec<Effect>) {
        let Message::NewView {
            view,
            view_changes,
            pre_prepares,
        } = &m.message
        else {
            return;
        };
        let view = *view;
        if view < self.view || (view == self.view && !self.in_view_change) || m.from != self.primary(view) {
            return self.drop(DropReason::Stale);
        }
        let mut signers = BTreeSet::new();
        for vc in view_changes {
            let ok = matches!(vc.message, Message::ViewChange { new_view, .. } if new_view == view);
            if !ok || !signers.insert(vc.from) {
                return self.drop(DropReason::BadProof);
            }
        }
        if signers.len() < self.quorum() {
            return self.drop(DropReason::BadProof);
        }
        let Some((min_s, batches)) = self.new_view_batches(view, view_changes) else {
            return self.drop(DropReason::BadProof);
        };
        if pre_prepares.len() != batches.len() {
            return self.drop(DropReason::BadProof);
        }
        for (pp, (seq, batch)) in pre_prepares.iter().zip(&batches) {
            let ok = matches!(&pp.message, Message::PrePrepare { view: v, seq: s, batch: b } if *v == view && s == seq && b == batch);
            if !ok || pp.from != m.from || self.verify_message(pp).is_err() {
                return self.drop(DropReason::BadProof);
            }
        }
        self.record_sent(&m);
        out.push(Effect::Persist(LogEntry::Sent(m.clone())));
        self.enter_view(view, min_s, pre_prepares.clone(), out);
    }
}
