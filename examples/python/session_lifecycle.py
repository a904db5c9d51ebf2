#!/usr/bin/env python3
"""The life of omniroute sessions, end to end, from Python.

This example knows only the public contract (proto/omniroute/v1/*.proto) and plays three
parts against a running `omnirouted`:

  * the operator's console (AdminService): a queue and an agent;
  * an agent desktop (AgentService): StreamOffers first, AVAILABLE, answer offers,
    complete, end wrap-up;
  * a WeChat gateway and the robot-chat bot (SessionService): create sessions with a
    request_id (retry-safe), follow one with WatchSession, escalate a bot session,
    cancel one when the customer leaves;

then reads the queue's statistics (AdminService.GetQueueStats) and replays the first
session's events with EventService.StreamEvents(after_sequence).

The plumbing around the calls (command line, printing and checks, calls with a deadline,
stream readers) is in omniroute_example.py beside this file, shared with customer_journey.py;
every call of the API is made here.

Every call has a deadline and every stream read a timeout: nothing here sleeps to wait for
something to happen. Any surprise (a wrong state, a wrong agent, a missing message, an
error status) stops the example with a message and exit status 1, so it doubles as a test.

    protoc -I proto -I /usr/include --python_out=OUT --grpc_python_out=OUT \\
        --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin proto/omniroute/v1/*.proto
    python3 examples/python/session_lifecycle.py --address 127.0.0.1:7400 --stubs OUT

(examples/python/run_example.sh does all of it against a fresh daemon.)
"""

import sys
import uuid

import grpc
from google.protobuf import duration_pb2

from omniroute_example import (STREAM_TIMEOUT, StreamReader, call, check,
                               describe_offers_message, expect_error, import_stubs, name,
                               parse_args, run, say, step)

# The modules generated from the .proto files: main() imports them from --stubs.
res = admin_pb = admin_grpc = session_pb = session_grpc = None
agent_pb = agent_grpc = event_pb = event_grpc = None

QUEUE_ID = "example.support"   # a queue of this example's own, served by its agent only
AGENT_ID = "example-agent-1"
CHANNEL_ID = "wechat"          # built-in channel: a chat, 20 of an agent's 60 budget units
BOT_CHANNEL_ID = "robot_chat"  # built-in, bot-first: sessions start with the robot


# -- One-line descriptions of stream messages -------------------------------------------------

def describe_event(event):
    text = f"#{event.sequence} {name(res.EventType, event.type)}"
    if event.session_id:
        text += f" session={event.session_id}"
    if event.agent_id:
        text += f" agent={event.agent_id}"
    if event.session_state:
        text += f" state={name(res.SessionState, event.session_state)}"
    if event.presence:
        text += f" presence={name(res.Presence, event.presence)}"
    if event.detail:
        text += f' detail="{event.detail}"'
    return text


def describe_offer(o):
    """The line of an offer in describe_offers_message (omniroute_example)."""
    return (f"offer {o.offer_id}: session={o.session.id} "
            f"mode={name(res.DeliveryMode, o.delivery_mode)} "
            f"until {o.deadline_time.ToJsonString()} "
            f"(strategy={o.reason.strategy}, decided by "
            f"{name(res.Decider, o.reason.decided_by)})")


def describe_watch_message(m):
    if m.WhichOneof("update") == "session":
        return f"now: session {m.session.id} {name(res.SessionState, m.session.state)}"
    return describe_event(m.event)


# -- The example ------------------------------------------------------------------------------

def run_example(channel, readers):
    admin = admin_grpc.AdminServiceStub(channel)
    sessions = session_grpc.SessionServiceStub(channel)
    agents = agent_grpc.AgentServiceStub(channel)
    events = event_grpc.EventServiceStub(channel)

    # 1. Configuration: a queue and an agent. Upserts replace the whole configuration, so
    #    running this twice is harmless.
    step(f"AdminService.UpsertQueue {QUEUE_ID}")
    queue_config = res.Queue(
        id=QUEUE_ID,
        display_name="Example support (any channel)",
        requirements=[res.Requirement(skill_id="repair.phone", min_level=3)],
        offer_timeout=duration_pb2.Duration(seconds=30),
        wrap_up_duration=duration_pb2.Duration(seconds=60),
        service_level_threshold=duration_pb2.Duration(seconds=20),
    )
    r = call(admin.UpsertQueue, admin_pb.UpsertQueueRequest(queue=queue_config), "UpsertQueue")
    fresh_queue = r.created
    say(f"created={r.created} strategy={r.queue.strategy} "
        f"delivery={name(res.DeliveryMode, r.queue.delivery_mode)} "
        f"offer_timeout={r.queue.offer_timeout.seconds}s "
        f"wrap_up={r.queue.wrap_up_duration.seconds}s")
    check(r.queue.id == QUEUE_ID, f"UpsertQueue returned queue {r.queue.id!r}")
    check(r.queue.strategy == "longest_idle", "the default strategy should be longest_idle")
    check(r.queue.delivery_mode == res.DELIVERY_MODE_DIRECT, "the default delivery is direct")

    step(f"AdminService.UpsertAgent {AGENT_ID}")
    agent_config = res.Agent(
        id=AGENT_ID,
        display_name="Example Agent",
        skills=[res.SkillLevel(skill_id="repair.phone", level=4)],
        tier=res.AGENT_TIER_CORE,
        channels=[res.ChannelCapacity(channel_id=CHANNEL_ID, max=3),
                  res.ChannelCapacity(channel_id=BOT_CHANNEL_ID, max=3)],
        queue_ids=[QUEUE_ID],
    )
    r = call(admin.UpsertAgent, admin_pb.UpsertAgentRequest(agent=agent_config), "UpsertAgent")
    say(f"created={r.created} presence={name(res.Presence, r.agent.status.presence)} "
        f"budget={r.agent.status.budget}")
    check(r.agent.id == AGENT_ID, f"UpsertAgent returned agent {r.agent.id!r}")
    if r.created:
        check(r.agent.status.presence == res.PRESENCE_OFFLINE, "a new agent starts OFFLINE")

    # 2. The desktop opens its offer stream before going AVAILABLE, so no offer is missed.
    #    offline_on_disconnect: if the desktop goes away, the daemon sets the agent OFFLINE.
    step(f"AgentService.StreamOffers {AGENT_ID} (offline_on_disconnect)")
    desk = StreamReader("desktop", agents.StreamOffers(
        agent_pb.StreamOffersRequest(agent_id=AGENT_ID, offline_on_disconnect=True),
        timeout=STREAM_TIMEOUT), lambda m: describe_offers_message(m, describe_offer))
    readers.append(desk)
    m = desk.next("the snapshot")
    check(m.WhichOneof("update") == "snapshot", "the first StreamOffers message is the snapshot")
    check(m.snapshot.status.agent_id == AGENT_ID,
          f"snapshot of agent {m.snapshot.status.agent_id!r}")
    check(not m.snapshot.held_sessions and not m.snapshot.pending_offers,
          "the agent should hold nothing yet (is another copy of the example running?)")

    step("AgentService.SetPresence AVAILABLE")
    r = call(agents.SetPresence, agent_pb.SetPresenceRequest(
        agent_id=AGENT_ID, presence=res.PRESENCE_AVAILABLE), "SetPresence")
    check(r.status.presence == res.PRESENCE_AVAILABLE, "SetPresence should answer AVAILABLE")
    desk.wait_for(lambda m: m.WhichOneof("update") == "status"
                  and m.status.presence == res.PRESENCE_AVAILABLE,
                  "the AVAILABLE status on the desktop")

    # 3. The WeChat gateway creates a session. request_id makes the call retry-safe: a
    #    UUID per contact, reused on every retry of the same request.
    step("SessionService.CreateSession from the WeChat gateway")
    create = session_pb.CreateSessionRequest(
        request_id=f"wechat-gw-{uuid.uuid4()}",
        channel_id=CHANNEL_ID,
        queue_id=QUEUE_ID,
        customer=res.Customer(id="cust-88001", vip_level=0, language="zh-CN",
                              tags=["new-home"]),
        intent="screen cracked",
        attributes=[res.Attribute(key="wechat.openid", value="o6_bmjrPTlm6_2sgVt7hMZOPfL2M")],
    )
    r = call(sessions.CreateSession, create, "CreateSession")
    sid = r.session.id
    say(f"session {sid} state={name(res.SessionState, r.session.state)} "
        f"duplicate={r.duplicate} request_id={r.session.request_id}")
    check(not r.duplicate, "the first CreateSession is not a duplicate")
    check(r.session.request_id == create.request_id, "the session carries its request_id")
    check(r.session.state in (res.SESSION_STATE_QUEUED, res.SESSION_STATE_OFFERED),
          "a new session on a non-bot channel is QUEUED (or already OFFERED)")

    step(f"SessionService.WatchSession {sid} (the gateway follows its session)")
    watch = StreamReader("watch", sessions.WatchSession(
        session_pb.WatchSessionRequest(session_id=sid), timeout=STREAM_TIMEOUT),
        describe_watch_message)
    readers.append(watch)
    m = watch.next("the current state")
    check(m.WhichOneof("update") == "session" and m.session.id == sid,
          "the first WatchSession message is the session itself")

    step("CreateSession again with the same request_id (a retry after a timeout)")
    r = call(sessions.CreateSession, create, "CreateSession retry")
    say(f"session {r.session.id} duplicate={r.duplicate}")
    check(r.duplicate, "a retry must be answered with duplicate=true")
    check(r.session.id == sid, f"the retry returned session {r.session.id}, not {sid}")

    step("CreateSession reusing that request_id for a different request")
    other = session_pb.CreateSessionRequest()
    other.CopyFrom(create)
    other.intent = "battery swelling"
    details = expect_error(sessions.CreateSession, other, grpc.StatusCode.ALREADY_EXISTS,
                           "a reused request_id")
    say(f"ALREADY_EXISTS: {details}")

    # 4. The desktop gets the offer, accepts it with its offer_id.
    step("the desktop receives the offer and accepts it (AgentService.AcceptOffer)")
    m = desk.wait_for(lambda m: m.WhichOneof("update") == "offer", "the offer")
    offer = m.offer
    check(offer.session.id == sid, f"offer of session {offer.session.id}, expected {sid}")
    check(offer.agent_id == AGENT_ID, f"offer to {offer.agent_id!r}, expected {AGENT_ID!r}")
    check(offer.delivery_mode == res.DELIVERY_MODE_DIRECT, "a direct offer")
    check(offer.offer_id == str(m.event.sequence), "offer_id is the OFFER_CREATED sequence")
    check(offer.session.customer.id == "cust-88001" and offer.session.intent == "screen cracked",
          "the offer carries the customer and the intent")
    r = call(agents.AcceptOffer, agent_pb.AcceptOfferRequest(
        session_id=sid, agent_id=AGENT_ID, offer_id=offer.offer_id), "AcceptOffer")
    say(f"session {sid} {name(res.SessionState, r.session.state)} to {r.session.agent_id}")
    check(r.session.state == res.SESSION_STATE_ASSIGNED, "accepted: ASSIGNED")
    check(r.session.agent_id == AGENT_ID, f"assigned to {r.session.agent_id!r}")
    m = desk.wait_for(lambda m: m.WhichOneof("update") == "offer_end", "the end of the offer")
    check(m.offer_end.offer_id == offer.offer_id
          and m.offer_end.reason == agent_pb.OFFER_END_REASON_ACCEPTED, "the offer ended ACCEPTED")
    m = desk.wait_for(lambda m: m.WhichOneof("update") == "session_update", "the assignment")
    check(m.session_update.session.state == res.SESSION_STATE_ASSIGNED
          and m.event.type == res.EVENT_TYPE_SESSION_ASSIGNED, "the desktop sees the assignment")

    step("a stale answer: AcceptOffer with the same offer_id again")
    details = expect_error(agents.AcceptOffer, agent_pb.AcceptOfferRequest(
        session_id=sid, agent_id=AGENT_ID, offer_id=offer.offer_id),
        grpc.StatusCode.FAILED_PRECONDITION, "a second AcceptOffer")
    say(f"FAILED_PRECONDITION: {details}")

    # 5. The conversation is over: wrap-up, then completed.
    step("SessionService.CompleteSession (the conversation is over)")
    r = call(sessions.CompleteSession, session_pb.CompleteSessionRequest(
        session_id=sid, agent_id=AGENT_ID), "CompleteSession")
    say(f"session {sid} {name(res.SessionState, r.session.state)} "
        f"until {r.session.deadline_time.ToJsonString()}")
    check(r.session.state == res.SESSION_STATE_WRAP_UP, "completed: WRAP_UP")
    check(r.session.HasField("deadline_time"), "WRAP_UP has its end as deadline_time")
    desk.wait_for(lambda m: m.WhichOneof("update") == "session_update"
                  and m.session_update.session.state == res.SESSION_STATE_WRAP_UP,
                  "the wrap-up on the desktop")

    step("AgentService.EndWrapUp (the agent is done with the paperwork)")
    r = call(agents.EndWrapUp, agent_pb.EndWrapUpRequest(session_id=sid, agent_id=AGENT_ID),
             "EndWrapUp")
    say(f"session {sid} {name(res.SessionState, r.session.state)}")
    check(r.session.state == res.SESSION_STATE_COMPLETED, "wrap-up ended: COMPLETED")
    desk.wait_for(lambda m: m.WhichOneof("update") == "session_update"
                  and m.session_update.session.state == res.SESSION_STATE_COMPLETED,
                  "the completion on the desktop")

    step("what the gateway's WatchSession saw")
    seen = []
    while True:
        m = watch.next("the session's events")
        seen.append(m.event.type)
        if m.event.type == res.EVENT_TYPE_SESSION_COMPLETED:
            break
    check(watch.finish("after COMPLETED") == grpc.StatusCode.OK,
          f"WatchSession should end OK after COMPLETED, ended {watch.end_code}")
    say("the stream ended OK after COMPLETED")
    for wanted in (res.EVENT_TYPE_OFFER_ACCEPTED, res.EVENT_TYPE_SESSION_ASSIGNED,
                   res.EVENT_TYPE_SESSION_WRAP_UP, res.EVENT_TYPE_SESSION_COMPLETED):
        check(wanted in seen, f"WatchSession did not report {name(res.EventType, wanted)}")

    # 6. Robot first: the bot talks to the customer, then hands over to a human.
    step(f"CreateSession on {BOT_CHANNEL_ID} (bot-first channel)")
    r = call(sessions.CreateSession, session_pb.CreateSessionRequest(
        request_id=f"robot-{uuid.uuid4()}", channel_id=BOT_CHANNEL_ID, queue_id=QUEUE_ID,
        customer=res.Customer(id="cust-88002")), "CreateSession (bot)")
    bot_sid = r.session.id
    say(f"session {bot_sid} {name(res.SessionState, r.session.state)}")
    check(r.session.state == res.SESSION_STATE_BOT, "a bot-first channel starts in BOT")
    check(not r.session.agent_id, "a BOT session uses no agent")

    step("SessionService.EscalateSession with the bot's intent and summary")
    summary = "Phone fell in water yesterday; restarts in a loop. Under warranty until 2026-03."
    r = call(sessions.EscalateSession, session_pb.EscalateSessionRequest(
        session_id=bot_sid, intent="water damage", summary=summary, priority_boost=10),
        "EscalateSession")
    say(f"session {bot_sid} {name(res.SessionState, r.session.state)} "
        f"priority={r.session.priority}")
    check(r.session.state in (res.SESSION_STATE_QUEUED, res.SESSION_STATE_OFFERED),
          "an escalated session is QUEUED (or already OFFERED)")
    check(r.session.intent == "water damage" and r.session.bot_summary == summary,
          "the session carries the bot's intent and summary")
    m = desk.wait_for(lambda m: m.WhichOneof("update") == "offer", "the escalated offer")
    offer = m.offer
    check(offer.session.id == bot_sid and offer.agent_id == AGENT_ID,
          f"offer of session {offer.session.id} to {offer.agent_id!r}")
    check(offer.session.bot_summary == summary, "the agent sees the bot's summary")
    say(f"the agent reads: intent={offer.session.intent!r} summary={offer.session.bot_summary!r}")
    r = call(agents.AcceptOffer, agent_pb.AcceptOfferRequest(
        session_id=bot_sid, agent_id=AGENT_ID, offer_id=offer.offer_id), "AcceptOffer (bot)")
    check(r.session.state == res.SESSION_STATE_ASSIGNED and r.session.agent_id == AGENT_ID,
          "the escalated session is ASSIGNED to the agent")
    say(f"AcceptOffer: session {bot_sid} {name(res.SessionState, r.session.state)}")
    desk.wait_for(lambda m: m.WhichOneof("update") == "session_update"
                  and m.session_update.session.id == bot_sid
                  and m.session_update.session.state == res.SESSION_STATE_ASSIGNED,
                  "the assignment of the escalated session on the desktop")
    r = call(sessions.CompleteSession, session_pb.CompleteSessionRequest(
        session_id=bot_sid, agent_id=AGENT_ID), "CompleteSession (bot)")
    check(r.session.state == res.SESSION_STATE_WRAP_UP, "CompleteSession: WRAP_UP")
    say(f"CompleteSession: session {bot_sid} {name(res.SessionState, r.session.state)}")
    r = call(agents.EndWrapUp, agent_pb.EndWrapUpRequest(session_id=bot_sid, agent_id=AGENT_ID),
             "EndWrapUp (bot)")
    check(r.session.state == res.SESSION_STATE_COMPLETED, "EndWrapUp: COMPLETED")
    say(f"EndWrapUp: session {bot_sid} {name(res.SessionState, r.session.state)}")
    desk.wait_for(lambda m: m.WhichOneof("update") == "session_update"
                  and m.session_update.session.id == bot_sid
                  and m.session_update.session.state == res.SESSION_STATE_COMPLETED,
                  "the completion of the escalated session on the desktop")

    # 7. A customer who leaves before being answered.
    step("a customer hangs up while offered: CancelSession(CANCEL_KIND_ABANDONED)")
    r = call(sessions.CreateSession, session_pb.CreateSessionRequest(
        request_id=f"wechat-gw-{uuid.uuid4()}", channel_id=CHANNEL_ID, queue_id=QUEUE_ID,
        customer=res.Customer(id="cust-88003")), "CreateSession (to abandon)")
    gone_sid = r.session.id
    m = desk.wait_for(lambda m: m.WhichOneof("update") == "offer", "the third offer")
    check(m.offer.session.id == gone_sid, f"offer of session {m.offer.session.id}")
    r = call(sessions.CancelSession, session_pb.CancelSessionRequest(
        session_id=gone_sid, kind=session_pb.CANCEL_KIND_ABANDONED, reason="customer left"),
        "CancelSession")
    say(f"session {gone_sid} {name(res.SessionState, r.session.state)}")
    check(r.session.state == res.SESSION_STATE_ABANDONED, "abandoned: ABANDONED")
    m = desk.wait_for(lambda m: m.WhichOneof("update") == "offer_end", "the rescinded offer")
    check(m.offer_end.session_id == gone_sid
          and m.offer_end.reason == agent_pb.OFFER_END_REASON_RESCINDED,
          "the desktop's offer is RESCINDED")
    details = expect_error(sessions.CancelSession, session_pb.CancelSessionRequest(
        session_id=gone_sid), grpc.StatusCode.FAILED_PRECONDITION, "cancelling it again")
    say(f"cancelling again: FAILED_PRECONDITION: {details}")

    # 8. The queue's figures.
    step(f"AdminService.GetQueueStats {QUEUE_ID} (default window)")
    st = call(admin.GetQueueStats, admin_pb.GetQueueStatsRequest(queue_id=QUEUE_ID),
              "GetQueueStats").stats
    say(f"window={st.window.seconds}s waiting={st.waiting} offered={st.offered}")
    say(f"entered={st.entered_count} answered={st.answered_count} "
        f"in_threshold={st.answered_in_threshold_count} abandoned={st.abandoned_count} "
        f"overflowed={st.overflowed_count}")
    sl = f"{st.service_level:.3f}" if st.HasField("service_level") else "-"
    ar = f"{st.abandonment_rate:.3f}" if st.HasField("abandonment_rate") else "-"
    asa = (f"{st.average_speed_of_answer.ToMilliseconds()}ms"
           if st.HasField("average_speed_of_answer") else "-")
    say(f"service_level={sl} (goal {st.service_level_goal}, "
        f"threshold {st.service_level_threshold.seconds}s) "
        f"abandonment_rate={ar} average_speed_of_answer={asa}")
    say(f"agents: busy={st.agents_busy} available={st.agents_available} "
        f"not_ready={st.agents_not_ready} offline={st.agents_offline}")
    check(st.queue_id == QUEUE_ID, "stats of the right queue")
    check(st.waiting == 0 and st.offered == 0, "nothing waits any more")
    check(st.agents_available == 1 and st.agents_busy == 0, "the agent is available and free")
    if fresh_queue:  # exact figures when this run created the queue (as run_example.sh does)
        check((st.entered_count, st.answered_count, st.abandoned_count) == (3, 2, 1),
              "3 sessions entered the queue (one by escalation), 2 answered, 1 abandoned")
        check(st.HasField("service_level") and st.HasField("abandonment_rate")
              and st.HasField("average_speed_of_answer"), "the windowed rates are set")
        check(abs(st.abandonment_rate - 1 / 3) < 1e-9, "abandonment = 1 / (2 + 1)")
        check(abs(st.service_level - st.answered_in_threshold_count / 3) < 1e-9,
              "service level = in threshold / (answered + abandoned)")

    # 9. A wallboard or CRM replays what happened to the first session, from the retained
    #    history (after_sequence), then would go on live.
    step(f"EventService.StreamEvents session_ids=[{sid}] after_sequence=0 (replay)")
    replay = StreamReader("events", events.StreamEvents(
        event_pb.StreamEventsRequest(session_ids=[sid], after_sequence=0),
        timeout=STREAM_TIMEOUT), lambda m: describe_event(m.event))
    readers.append(replay)
    m = replay.next("the first event of the session")
    check(m.event.type == res.EVENT_TYPE_SESSION_CREATED and m.event.session_id == sid,
          "the replay starts with SESSION_CREATED")
    last = replay.wait_for(lambda m: m.event.type == res.EVENT_TYPE_SESSION_COMPLETED,
                           "SESSION_COMPLETED in the replay")
    replay.close()

    # 10. The desktop closes. With offline_on_disconnect the daemon sets the agent OFFLINE;
    #     a StreamEvents resumed after the last event seen shows it without any race.
    step("the desktop disconnects (offline_on_disconnect): the agent goes OFFLINE")
    presence = StreamReader("events", events.StreamEvents(
        event_pb.StreamEventsRequest(agent_ids=[AGENT_ID],
                                     event_types=[res.EVENT_TYPE_PRESENCE_CHANGED],
                                     after_sequence=last.event.sequence),
        timeout=STREAM_TIMEOUT), lambda m: describe_event(m.event))
    readers.append(presence)
    desk.close()
    presence.wait_for(lambda m: m.event.presence == res.PRESENCE_OFFLINE,
                      "the agent going OFFLINE")
    r = call(admin.GetAgent, admin_pb.GetAgentRequest(agent_id=AGENT_ID), "GetAgent")
    check(r.agent.status.presence == res.PRESENCE_OFFLINE, "GetAgent: OFFLINE")
    say(f"GetAgent {AGENT_ID}: {name(res.Presence, r.agent.status.presence)}")


def main():
    global res, admin_pb, admin_grpc, session_pb, session_grpc
    global agent_pb, agent_grpc, event_pb, event_grpc
    args = parse_args(__doc__)
    v1 = import_stubs(args.stubs)  # the package omniroute.v1
    res = v1.resources_pb2
    admin_pb, admin_grpc = v1.admin_service_pb2, v1.admin_service_pb2_grpc
    session_pb, session_grpc = v1.session_service_pb2, v1.session_service_pb2_grpc
    agent_pb, agent_grpc = v1.agent_service_pb2, v1.agent_service_pb2_grpc
    event_pb, event_grpc = v1.event_service_pb2, v1.event_service_pb2_grpc
    return run(args.address, run_example)


if __name__ == "__main__":
    sys.exit(main())
