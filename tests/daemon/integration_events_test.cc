// Following the router: WatchSession sees every step of one session in order and ends after
// the terminal event; StreamEvents is gap-free when unfiltered, filters by queue, session,
// agent, type and channel, resumes with after_sequence (OUT_OF_RANGE beyond the retained
// history), starts live without replaying history, and a consumer that does not read is cut
// off with RESOURCE_EXHAUSTED while the daemon keeps serving everyone else.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kConfig[] = R"pb(
  queues { id: "repair" offer_timeout { seconds: 120 } wrap_up_duration { seconds: 120 } }
  queues { id: "sales" offer_timeout { seconds: 120 } wrap_up_duration { seconds: 120 } }
  agents { id: "ann" queue_ids: "repair" }
  agents { id: "bob" queue_ids: "sales" }
)pb";

std::vector<uint64_t> Sequences(const std::vector<v1::Event>& events) {
  std::vector<uint64_t> out;
  for (const v1::Event& e : events) out.push_back(e.sequence());
  return out;
}

TEST(WatchSession, SeesEveryStepInOrderAndEndsAfterTheTerminalEvent) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  v1::CreateSessionRequest req = NewSession("w-1", "wechat", "repair");
  req.set_intent("repair.fridge");
  const std::string s = d.Create(req);
  ASSERT_THAT(log.Sync(), ElementsAre("SESSION_CREATED session=" + s));

  auto watch = d.WatchSession(s);
  std::optional<v1::WatchSessionResponse> first = watch->Next();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->has_session()) << "the first message is the session: " << ShortDebug(*first);
  EXPECT_EQ(first->session().id(), s);
  EXPECT_EQ(first->session().state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(first->session().intent(), "repair.fridge");

  // The whole life of the session.
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s);
  accept.set_agent_id("ann");
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  v1::CompleteSessionRequest complete;
  complete.set_session_id(s);
  complete.set_agent_id("ann");
  ASSERT_THAT(d.CompleteSession(complete), IsOk());
  v1::EndWrapUpRequest end_wrap;
  end_wrap.set_session_id(s);
  end_wrap.set_agent_id("ann");
  ASSERT_THAT(d.EndWrapUp(end_wrap), IsOk());
  std::vector<v1::Event> logged;
  ASSERT_THAT(log.Sync(&logged), ElementsAre("PRESENCE_CHANGED agent=ann",
                                             "OFFER_CREATED session=" + s + " agent=ann",
                                             "OFFER_ACCEPTED session=" + s + " agent=ann",
                                             "SESSION_ASSIGNED session=" + s + " agent=ann",
                                             "SESSION_WRAP_UP session=" + s + " agent=ann",
                                             "SESSION_COMPLETED session=" + s + " agent=ann"));
  logged.erase(logged.begin());  // the presence change does not concern the session

  std::vector<v1::Event> watched;
  while (std::optional<v1::WatchSessionResponse> m = watch->Next()) {
    EXPECT_TRUE(m->has_event()) << "only the first message carries the session";
    watched.push_back(m->event());
  }
  std::optional<grpc::Status> end = watch->AwaitEnd();
  ASSERT_TRUE(end.has_value()) << "WatchSession must end after the terminal event";
  EXPECT_THAT(*end, IsOk());
  EXPECT_EQ(Sequences(watched), Sequences(logged)) << "every event of the session, in order";
  for (size_t i = 0; i < std::min(watched.size(), logged.size()); ++i) {
    EXPECT_EQ(watched[i].SerializeAsString(), logged[i].SerializeAsString())
        << "the same event as on StreamEvents: " << ShortDebug(watched[i]) << " vs "
        << ShortDebug(logged[i]);
  }

  // Watching a finished session: its state, then the end, at once.
  auto again = d.WatchSession(s);
  first = again->Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->session().state(), v1::SESSION_STATE_COMPLETED);
  end = again->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, IsOk());
  EXPECT_EQ(again->pending(), 0u);

  auto unknown = d.WatchSession("424242");
  end = unknown->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::NOT_FOUND));
  auto bad = d.WatchSession("s-1");
  end = bad->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, InvalidArgumentNaming("session_id"));
  d.StopCleanly();
}

TEST(WatchSession, AnAbandonedSessionEndsTheWatch) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  const std::string s = d.Create(NewSession("w-2", "voice", "sales"));
  auto watch = d.WatchSession(s);
  ASSERT_TRUE(watch->Next().has_value());
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(s);
  ASSERT_THAT(d.CancelSession(cancel), IsOk());
  std::optional<v1::WatchSessionResponse> m = watch->Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->event().type(), v1::EVENT_TYPE_SESSION_ABANDONED);
  EXPECT_EQ(m->event().session_state(), v1::SESSION_STATE_ABANDONED);
  std::optional<grpc::Status> end = watch->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, IsOk());
  d.StopCleanly();
}

// The local reading of StreamEventsRequest's filters.
bool Matches(const v1::StreamEventsRequest& f, const v1::Event& e) {
  auto in = [](const auto& list, const auto& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  if (!f.queue_ids().empty() && !in(f.queue_ids(), e.queue_id()) &&
      !in(f.queue_ids(), e.to_queue_id())) {
    return false;
  }
  if (!f.session_ids().empty() && !in(f.session_ids(), e.session_id())) return false;
  if (!f.agent_ids().empty() && !in(f.agent_ids(), e.agent_id())) return false;
  if (!f.event_types().empty() && !in(f.event_types(), static_cast<int>(e.type()))) return false;
  if (!f.channel_ids().empty() && !in(f.channel_ids(), e.channel_id())) return false;
  return true;
}

TEST(StreamEvents, FiltersSelectExactlyTheMatchingEventsInOrder) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  // A little traffic on both queues.
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s1 = d.Create(NewSession("f-1", "wechat", "repair"));
  const std::string s2 = d.Create(NewSession("f-2", "voice", "sales"));
  const std::string s3 = d.Create(NewSession("f-3", "app", "repair"));
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s1);
  accept.set_agent_id("ann");
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  accept.set_session_id(s2);
  accept.set_agent_id("bob");
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  v1::RejectOfferRequest reject;
  reject.set_session_id(s3);
  reject.set_agent_id("ann");
  reject.set_reason("app issue");
  ASSERT_THAT(d.RejectOffer(reject), IsOk());
  v1::CompleteSessionRequest complete;
  complete.set_session_id(s2);
  complete.set_agent_id("bob");
  ASSERT_THAT(d.CompleteSession(complete), IsOk());
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(s3);
  ASSERT_THAT(d.CancelSession(cancel), IsOk());
  ASSERT_EQ(log.Sync().size(), 17u);

  std::vector<v1::StreamEventsRequest> filters(6);
  filters[0].add_queue_ids("repair");
  filters[1].add_session_ids(s1);
  filters[1].add_session_ids(s3);
  filters[2].add_agent_ids("ann");
  filters[3].add_event_types(v1::EVENT_TYPE_SESSION_WRAP_UP);
  filters[3].add_event_types(v1::EVENT_TYPE_OFFER_REJECTED);
  filters[4].add_channel_ids("wechat");
  filters[5].add_queue_ids("sales");  // AND
  filters[5].add_event_types(v1::EVENT_TYPE_OFFER_CREATED);
  std::vector<std::unique_ptr<Stream<v1::StreamEventsResponse>>> streams;
  for (v1::StreamEventsRequest& f : filters) {
    f.set_after_sequence(0);
    streams.push_back(d.StreamEvents(f));
  }
  auto check = [&](size_t first_index) {
    for (size_t i = 0; i < filters.size(); ++i) {
      std::vector<v1::Event> expected;
      for (size_t k = first_index; k < log.all().size(); ++k) {
        if (Matches(filters[i], log.all()[k])) expected.push_back(log.all()[k]);
      }
      std::vector<v1::Event> got;
      for (size_t k = 0; k < expected.size(); ++k) {
        std::optional<v1::StreamEventsResponse> r = streams[i]->Next();
        if (!r.has_value()) break;
        got.push_back(r->event());
      }
      EXPECT_EQ(Sequences(got), Sequences(expected))
          << "filter " << ShortDebug(filters[i]) << "\nexpected:\n"
          << Describe(expected) << "got:\n"
          << Describe(got);
    }
  };
  check(0);

  // Live from here: one more step that every filter but the last matches; anything extra the
  // filters let through before would show up ahead of it.
  const size_t mark = log.all().size();
  complete.set_session_id(s1);
  complete.set_agent_id("ann");
  ASSERT_THAT(d.CompleteSession(complete), IsOk());
  ASSERT_THAT(log.Sync(), ElementsAre("SESSION_WRAP_UP session=" + s1 + " agent=ann"));
  check(mark);

  // Unfiltered: everything, gap-free (EventLog checks), strictly increasing from 1.
  EXPECT_EQ(log.all().front().sequence(), 1u);

  v1::StreamEventsRequest bad;
  bad.add_event_types(v1::EVENT_TYPE_UNSPECIFIED);
  auto refused = d.StreamEvents(bad);
  std::optional<grpc::Status> end = refused->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  d.StopCleanly();
}

TEST(StreamEvents, WithoutAfterSequenceItStartsLive) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  d.Create(NewSession("l-1", "wechat", "repair"));
  ASSERT_EQ(log.Sync().size(), 1u);
  const uint64_t before = log.last_sequence();

  auto live = d.StreamEvents(v1::StreamEventsRequest());
  // Until the stream is known to be subscribed, poke the router and await each poke.
  std::optional<v1::StreamEventsResponse> first;
  for (int i = 0; i < 50 && !first.has_value(); ++i) {
    v1::UpsertChannelRequest poke;
    poke.mutable_channel()->set_id("poke-" + std::to_string(i));
    poke.mutable_channel()->set_default_max(0);
    ASSERT_THAT(d.UpsertChannel(poke), IsOk());
    first = live->Next(milliseconds(200));
  }
  ASSERT_TRUE(first.has_value());
  EXPECT_GT(first->event().sequence(), before) << "no history without after_sequence";
  EXPECT_EQ(first->event().type(), v1::EVENT_TYPE_CHANNEL_UPSERTED);
  // From then on, live and gap-free.
  const std::string s = d.Create(NewSession("l-2", "wechat", "repair"));
  std::vector<v1::StreamEventsResponse> skipped;
  std::optional<v1::StreamEventsResponse> created =
      AwaitEvent(*live, v1::EVENT_TYPE_SESSION_CREATED, s, "", kWait, &skipped);
  ASSERT_TRUE(created.has_value());
  uint64_t last = first->event().sequence();
  for (const v1::StreamEventsResponse& r : skipped) {
    EXPECT_EQ(r.event().sequence(), last + 1);
    last = r.event().sequence();
  }
  EXPECT_EQ(created->event().sequence(), last + 1);
  d.StopCleanly();
}

TEST(StreamEvents, ResumesAfterASequenceWithinTheRetainedHistoryOnly) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(
    limits { event_history_size: 8 }
    queues { id: "repair" }
  )pb"));
  EventLog log(d);
  for (int i = 0; i < 12; ++i) d.Create(NewSession("h-" + std::to_string(i), "app", "repair"));
  ASSERT_EQ(log.Sync().size(), 12u);
  const uint64_t last = log.last_sequence();  // the barrier
  ASSERT_GT(last, 12u);
  auto event_at = [&](uint64_t seq) -> const v1::Event& {
    for (const v1::Event& e : log.all()) {
      if (e.sequence() == seq) return e;
    }
    static const v1::Event none;
    ADD_FAILURE() << "sequence " << seq << " not in the log";
    return none;
  };

  // The 8 latest are retained: after_sequence last-8 replays exactly them, then goes live.
  v1::StreamEventsRequest resume;
  resume.set_after_sequence(last - 8);
  auto stream = d.StreamEvents(resume);
  for (uint64_t seq = last - 7; seq <= last; ++seq) {
    std::optional<v1::StreamEventsResponse> r = stream->Next();
    ASSERT_TRUE(r.has_value()) << "replay ended before " << seq << ": "
                               << (stream->status() ? ToString(*stream->status()) : "");
    EXPECT_EQ(r->event().sequence(), seq);
    EXPECT_EQ(r->event().SerializeAsString(), event_at(seq).SerializeAsString());
  }
  const std::string s = d.Create(NewSession("h-live", "app", "repair"));
  std::optional<v1::StreamEventsResponse> r = stream->Next();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->event().sequence(), last + 1);
  EXPECT_EQ(r->event().session_id(), s);
  ASSERT_EQ(log.Sync().size(), 1u);

  // A resume point in the middle: the rest, then live.
  resume.set_after_sequence(log.last_sequence() - 3);
  auto middle = d.StreamEvents(resume);
  for (uint64_t seq = log.last_sequence() - 2; seq <= log.last_sequence(); ++seq) {
    r = middle->Next();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->event().sequence(), seq);
  }

  // One older than the retained history, or far older: OUT_OF_RANGE.
  for (uint64_t after : {log.last_sequence() - 9, uint64_t{1}, uint64_t{0}}) {
    resume.set_after_sequence(after);
    auto old = d.StreamEvents(resume);
    std::optional<grpc::Status> end = old->AwaitEnd();
    ASSERT_TRUE(end.has_value()) << "after_sequence " << after;
    EXPECT_THAT(*end, StatusIs(grpc::StatusCode::OUT_OF_RANGE)) << "after_sequence " << after;
    EXPECT_EQ(old->received(), 0u);
  }
  d.StopCleanly();
}

TEST(StreamEvents, ASlowConsumerIsCutOffWhileTheDaemonKeepsServing) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(
    limits { stream_buffer_size: 16 }
    queues { id: "flood" }
  )pb"));
  EventLog log(d);  // a consumer that keeps up
  const uint64_t start = log.last_sequence();
  v1::StreamEventsRequest all;
  all.set_after_sequence(start);
  auto slow = d.StreamEventsOnTightConnection(all, /*read_now=*/false);  // never reads (yet)

  // Thousands of events of ~300 bytes: far more than flow control and 16 buffered messages.
  const std::string intent(250, 'x');
  constexpr int kSessions = 3000;
  int created = 0;
  for (int i = 0; i < kSessions; ++i) {
    v1::CreateSessionRequest req = NewSession("flood-" + std::to_string(i), "wechat", "flood");
    req.set_intent(intent);
    v1::CreateSessionResponse resp;
    grpc::Status st = d.CreateSession(req, &resp);
    if (!st.ok()) {
      ADD_FAILURE() << "CreateSession #" << i << ": " << ToString(st);
      break;
    }
    ++created;
  }
  ASSERT_EQ(created, kSessions) << "the daemon must keep answering";
  v1::GetQueueStatsResponse qs;
  v1::GetQueueStatsRequest qr;
  qr.set_queue_id("flood");
  ASSERT_THAT(d.GetQueueStats(qr, &qs), IsOk());
  EXPECT_EQ(qs.stats().waiting(), kSessions);

  // The fast consumer got every event, gap-free.
  std::vector<std::string> seen = log.Sync();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kSessions));
  const uint64_t last = log.last_sequence();

  // The slow one: what flow control held, then RESOURCE_EXHAUSTED.
  slow->StartReading();
  std::optional<grpc::Status> end = slow->AwaitEnd();
  ASSERT_TRUE(end.has_value()) << "the slow stream was not ended; it delivered "
                               << slow->received() << " of " << (last - start)
                               << " events once read";
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  uint64_t expect = start + 1;
  uint64_t resume_from = start;
  while (std::optional<v1::StreamEventsResponse> r = slow->Next(milliseconds(0))) {
    EXPECT_EQ(r->event().sequence(), expect) << "what arrived is a gap-free prefix";
    resume_from = r->event().sequence();
    ++expect;
  }
  EXPECT_LT(resume_from, last) << "the slow consumer cannot have received everything";

  // The daemon kept serving: a new stream works.
  v1::StreamEventsRequest live;
  live.set_after_sequence(last);
  auto fresh = d.StreamEvents(live);
  const std::string s = d.Create(NewSession("after-flood", "wechat", "flood"));
  ASSERT_TRUE(AwaitEvent(*fresh, v1::EVENT_TYPE_SESSION_CREATED, s).has_value());
  d.StopCleanly();
}

// The contract's advice to a consumer cut off for falling behind: "resume with after_sequence
// = the last sequence received". The replay is more than stream_buffer_size events at once; it
// must be delivered, not cut off again.
TEST(StreamEvents, AResumeReplaysMoreEventsThanTheStreamBufferHolds) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(
    limits { stream_buffer_size: 16 }
    queues { id: "flood" }
  )pb"));
  EventLog log(d);
  const uint64_t start = log.last_sequence();
  for (int i = 0; i < 100; ++i) d.Create(NewSession("r-" + std::to_string(i), "app", "flood"));
  ASSERT_EQ(log.Sync().size(), 100u);
  const uint64_t last = log.last_sequence();

  v1::StreamEventsRequest resume;
  resume.set_after_sequence(start);
  auto resumed = d.StreamEvents(resume);
  for (uint64_t seq = start + 1; seq <= last; ++seq) {
    std::optional<v1::StreamEventsResponse> r = resumed->Next();
    ASSERT_TRUE(r.has_value()) << "the replay stopped before " << seq << ": "
                               << (resumed->status() ? ToString(*resumed->status()) : "");
    ASSERT_EQ(r->event().sequence(), seq);
  }
  d.StopCleanly();
}

TEST(StreamOffers, ADesktopThatDisconnectsWithOfflineOnDisconnectLogsTheAgentOut) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  auto ann = std::make_unique<Desktop>(d, "ann", /*offline_on_disconnect=*/true);
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("d-1", "voice", "repair"));
  ASSERT_TRUE(ann->AwaitOffer(s).has_value());
  ASSERT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=ann",
                                      "SESSION_CREATED session=" + s,
                                      "OFFER_CREATED session=" + s + " agent=ann"));
  // The desktop goes away: ann goes OFFLINE and her pending offer is rescinded.
  ann.reset();
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Take(2, &raw), ElementsAre("PRESENCE_CHANGED agent=ann",
                                             "OFFER_RESCINDED session=" + s + " agent=ann"));
  if (!raw.empty()) {
    EXPECT_EQ(raw[0].presence(), v1::PRESENCE_OFFLINE);
  }
  EXPECT_EQ(d.Agent("ann").status().presence(), v1::PRESENCE_OFFLINE);
  EXPECT_EQ(d.Session(s).state(), v1::SESSION_STATE_QUEUED);

  // Without the flag, a disconnect changes nothing.
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  auto bob = std::make_unique<Desktop>(d, "bob");
  bob.reset();
  // A second desktop of bob's and a barrier: nothing happened in between.
  Desktop bob2(d, "bob");
  EXPECT_EQ(bob2.snapshot().status().presence(), v1::PRESENCE_AVAILABLE);
  EXPECT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=bob"));
  d.StopCleanly();
}

TEST(StreamOffers, TheSnapshotShowsPendingOffersAndHeldSessions) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string held = d.Create(NewSession("snap-1", "wechat", "repair"));
  v1::AcceptOfferRequest accept;
  accept.set_session_id(held);
  accept.set_agent_id("ann");
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  const std::string pending = d.Create(NewSession("snap-2", "wechat", "repair"));
  Desktop ann(d, "ann");
  EXPECT_EQ(ann.snapshot().status().presence(), v1::PRESENCE_AVAILABLE);
  EXPECT_EQ(ann.snapshot().status().used_budget(), 40);
  ASSERT_EQ(ann.snapshot().pending_offers_size(), 1);
  EXPECT_EQ(ann.snapshot().pending_offers(0).session().id(), pending);
  EXPECT_EQ(ann.snapshot().pending_offers(0).delivery_mode(), v1::DELIVERY_MODE_DIRECT);
  EXPECT_FALSE(ann.snapshot().pending_offers(0).offer_id().empty());
  ASSERT_EQ(ann.snapshot().held_sessions_size(), 1);
  EXPECT_EQ(ann.snapshot().held_sessions(0).id(), held);
  EXPECT_EQ(ann.snapshot().held_sessions(0).state(), v1::SESSION_STATE_ASSIGNED);
  // The pending offer's id from the snapshot is accepted.
  accept.set_session_id(pending);
  accept.set_offer_id(ann.snapshot().pending_offers(0).offer_id());
  EXPECT_THAT(d.AcceptOffer(accept), IsOk());

  // Several streams for the same agent each get everything.
  Desktop ann2(d, "ann");
  const std::string third = d.Create(NewSession("snap-3", "wechat", "repair"));
  std::optional<v1::Offer> o1 = ann.AwaitOffer(third);
  std::optional<v1::Offer> o2 = ann2.AwaitOffer(third);
  ASSERT_TRUE(o1.has_value());
  ASSERT_TRUE(o2.has_value());
  EXPECT_EQ(o1->offer_id(), o2->offer_id());

  // Unknown agent: NOT_FOUND.
  auto nobody = d.StreamOffers("nobody");
  std::optional<grpc::Status> end = nobody->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::NOT_FOUND));
  d.StopCleanly();
}

TEST(StreamOffers, DeletingTheAgentEndsItsStreamWithOk) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  Desktop bob(d, "bob");
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("del-1", "voice", "sales"));
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s);
  accept.set_agent_id("bob");
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  ASSERT_EQ(log.Sync().size(), 5u);
  v1::DeleteAgentRequest del;
  del.set_agent_id("bob");
  EXPECT_THAT(d.DeleteAgent(del), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "bob holds an assigned session";
  EXPECT_THAT(log.Sync(), IsEmpty());
  EXPECT_FALSE(bob.stream().status().has_value());
  v1::CompleteSessionRequest complete;
  complete.set_session_id(s);
  complete.set_agent_id("bob");
  ASSERT_THAT(d.CompleteSession(complete), IsOk());
  v1::EndWrapUpRequest end_wrap;
  end_wrap.set_session_id(s);
  end_wrap.set_agent_id("bob");
  ASSERT_THAT(d.EndWrapUp(end_wrap), IsOk());
  ASSERT_THAT(d.DeleteAgent(del), IsOk());
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_WRAP_UP session=" + s + " agent=bob",
                                      "SESSION_COMPLETED session=" + s + " agent=bob",
                                      "AGENT_REMOVED agent=bob"));
  std::optional<grpc::Status> end = bob.stream().AwaitEnd();
  ASSERT_TRUE(end.has_value()) << "the stream ends when the agent is deleted";
  EXPECT_THAT(*end, IsOk());
  v1::GetAgentRequest get;
  get.set_agent_id("bob");
  EXPECT_THAT(d.GetAgent(get), StatusIs(grpc::StatusCode::NOT_FOUND));
  d.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
