#!/usr/bin/env python3
"""One customer across channels, end to end, from Python.

This example knows only the public contract (proto/omniroute/v1/*.proto). It follows one
customer who is one person on every channel, against a running `omnirouted`:

  * the operator's console (AdminService): a queue serving voice and WeChat, two agents;
  * two agent desktops (AgentService): StreamOffers first, AVAILABLE, answer offers,
    complete, end wrap-up;
  * the customer directory (CustomerService): the phone number resolves to a new customer,
    who is made VIP level 2 and tagged, and their WeChat openid is linked to them;
  * the phone gateway and the WeChat gateway (SessionService): sessions created with the
    `customer_handle` the customer came in with;
  * the customer-facing app (CustomerService): a rating with stars, a tag, a favourite and a
    tip; the agent's record; the customer's history on every channel; the agent picker.

The point of it: a customer who phoned and rated the agent who helped them, writing on
WeChat the next day, is offered first to that same agent, although the other agent has been
idle longer and would get the session otherwise.

(Device alerts, DeviceService, are left out: the daemon's embedded demo configuration has no
`devices` section, so ReportDeviceAlert has no queue to route to.)

The plumbing around the calls (command line, printing and checks, calls with a deadline,
stream readers) is in omniroute_example.py beside this file, shared with
session_lifecycle.py; every call of the API is made here.

Every call has a deadline and every stream read a timeout: nothing here sleeps to wait for
something to happen. Any surprise (a wrong state, a wrong agent, a missing message, an
error status) stops the example with a message and exit status 1, so it doubles as a test.
The phone number and openid are new on every run, so it may run again against the same
daemon.

    protoc -I proto -I /usr/include --python_out=OUT --grpc_python_out=OUT \\
        --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin proto/omniroute/v1/*.proto
    python3 examples/python/customer_journey.py --address 127.0.0.1:7400 --stubs OUT

(`examples/python/run_example.sh PATH/TO/omnirouted customer_journey.py` does all of it
against a fresh daemon.)
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
agent_pb = agent_grpc = customer_pb = customer_grpc = None

QUEUE_ID = "example.care"     # a queue of this example's own, served by its agents only
AGENT_IDS = ("example-eng-1", "example-eng-2")
VOICE = "voice"               # built-in channel: a call, 60 of an agent's 60 budget units
WECHAT = "wechat"             # built-in channel: a chat, 20 units
INTENT = "no hot water"  # what the customer calls about, both times (free text)


# -- One-line descriptions ---------------------------------------------------------------------

def describe_reason(reason):
    text = (f"strategy={reason.strategy} stage={name(res.RoutingStage, reason.stage)} "
            f"decided by {name(res.Decider, reason.decided_by)}")
    if reason.runner_up_agent_id:
        text += f" runner-up {reason.runner_up_agent_id}"
    return text


def describe_offer(o):
    """The line of an offer in describe_offers_message (omniroute_example)."""
    return (f"offer {o.offer_id}: session={o.session.id} channel={o.session.channel_id} "
            f"customer={o.session.customer.id} ({describe_reason(o.reason)})")


def describe_handles(handles):
    return ", ".join(f"{h.kind}:{h.value}" for h in handles) or "-"


def describe_customer(c):
    return (f"{c.customer_id}: vip={c.vip_level} tags={list(c.tags)} "
            f"handles=[{describe_handles(c.handles)}] favourites={list(c.favourite_agent_ids)} "
            f"last_agent={c.last_agent_id or '-'} last_channel={c.last_channel_id or '-'} "
            f"interactions={c.interaction_count}")


def describe_rating(r):
    return (f"{r.stars} stars tags={list(r.tags)} favourite={r.favourite} "
            f"tip={r.tip_cents} cents")


def describe_agent_rating(a):
    tags = ", ".join(f"{t.tag}x{t.count}" for t in a.top_tags) or "-"
    return (f"{a.agent_id}: handled={a.handled_count} "
            f"(avg {a.average_handle_time.ToMilliseconds()}ms) ratings={a.rating_count} "
            f"avg_stars={a.average_stars:.2f} good={a.good_rating_rate:.2f} "
            f"favourites={a.favourite_count} tip_rate={a.tip_rate:.2f} "
            f"tips={a.tip_cents_total} top_tags=[{tags}] points={a.points} "
            f"earned_tier={name(res.AgentTier, a.earned_tier)} "
            f"tier={name(res.AgentTier, a.tier)}")


# -- Agent desktops ---------------------------------------------------------------------------

class Desktop:
    """One agent's desktop: its StreamOffers and the calls it makes."""

    def __init__(self, agents, agent_id, readers):
        self.agents = agents
        self.agent_id = agent_id
        self.stream = StreamReader(agent_id, agents.StreamOffers(
            agent_pb.StreamOffersRequest(agent_id=agent_id, offline_on_disconnect=True),
            timeout=STREAM_TIMEOUT), lambda m: describe_offers_message(m, describe_offer))
        readers.append(self.stream)

    def open(self):
        """Checks the snapshot, then goes AVAILABLE."""
        m = self.stream.next("the snapshot")
        check(m.WhichOneof("update") == "snapshot",
              "the first StreamOffers message is the snapshot")
        check(m.snapshot.status.agent_id == self.agent_id,
              f"snapshot of agent {m.snapshot.status.agent_id!r}")
        check(not m.snapshot.held_sessions and not m.snapshot.pending_offers,
              f"{self.agent_id} should hold nothing yet (is another copy of the example "
              f"running?)")
        r = call(self.agents.SetPresence, agent_pb.SetPresenceRequest(
            agent_id=self.agent_id, presence=res.PRESENCE_AVAILABLE), "SetPresence")
        check(r.status.presence == res.PRESENCE_AVAILABLE, "SetPresence should answer AVAILABLE")
        self.stream.wait_for(lambda m: m.WhichOneof("update") == "status"
                             and m.status.presence == res.PRESENCE_AVAILABLE,
                             f"the AVAILABLE status of {self.agent_id}")

    def wait_offer(self, sid):
        m = self.stream.wait_for(lambda m: m.WhichOneof("update") == "offer", "an offer")
        check(m.offer.session.id == sid,
              f"{self.agent_id} was offered session {m.offer.session.id}, expected {sid}")
        check(m.offer.agent_id == self.agent_id,
              f"offer to {m.offer.agent_id!r} on the desktop of {self.agent_id!r}")
        return m.offer

    def wait_session(self, sid, state, what):
        self.stream.wait_for(lambda m: m.WhichOneof("update") == "session_update"
                             and m.session_update.session.id == sid
                             and m.session_update.session.state == state, what)

    def serve(self, sessions, offer):
        """Accepts the offer, completes the conversation and ends the wrap-up."""
        sid = offer.session.id
        r = call(self.agents.AcceptOffer, agent_pb.AcceptOfferRequest(
            session_id=sid, agent_id=self.agent_id, offer_id=offer.offer_id), "AcceptOffer")
        say(f"AcceptOffer: session {sid} {name(res.SessionState, r.session.state)}")
        check(r.session.state == res.SESSION_STATE_ASSIGNED
              and r.session.agent_id == self.agent_id,
              f"the session is ASSIGNED to {self.agent_id}")
        self.wait_session(sid, res.SESSION_STATE_ASSIGNED, "the assignment on the desktop")

        r = call(sessions.CompleteSession, session_pb.CompleteSessionRequest(
            session_id=sid, agent_id=self.agent_id), "CompleteSession")
        say(f"CompleteSession: session {sid} {name(res.SessionState, r.session.state)}")
        check(r.session.state == res.SESSION_STATE_WRAP_UP, "completed: WRAP_UP")
        self.wait_session(sid, res.SESSION_STATE_WRAP_UP, "the wrap-up on the desktop")

        r = call(self.agents.EndWrapUp, agent_pb.EndWrapUpRequest(
            session_id=sid, agent_id=self.agent_id), "EndWrapUp")
        say(f"EndWrapUp: session {sid} {name(res.SessionState, r.session.state)}")
        check(r.session.state == res.SESSION_STATE_COMPLETED, "wrap-up ended: COMPLETED")
        self.wait_session(sid, res.SESSION_STATE_COMPLETED, "the completion on the desktop")


# -- The example ------------------------------------------------------------------------------

def run_example(channel, readers):
    admin = admin_grpc.AdminServiceStub(channel)
    sessions = session_grpc.SessionServiceStub(channel)
    agents = agent_grpc.AgentServiceStub(channel)
    customers = customer_grpc.CustomerServiceStub(channel)

    # 1. Configuration: a queue for calls and chats, and two agents serving it. Upserts
    #    replace the whole configuration, so running this twice is harmless.
    step(f"AdminService.UpsertQueue {QUEUE_ID} (voice and WeChat wait together)")
    r = call(admin.UpsertQueue, admin_pb.UpsertQueueRequest(queue=res.Queue(
        id=QUEUE_ID,
        display_name="Example customer care (voice and WeChat)",
        offer_timeout=duration_pb2.Duration(seconds=30),
        wrap_up_duration=duration_pb2.Duration(seconds=60),
        # The stages a session goes through: the customer's favourite agents for 20 s, then
        # the agent who served them last for 10 s (the defaults, written out), then anyone.
        # No VIP stage (vip_timeout 0s): with one, a VIP customer's session would wait
        # vip_timeout for an agent of vip_min_tier (ELITE), and nobody here is ELITE.
        preferred_timeout=duration_pb2.Duration(seconds=20),
        last_agent_timeout=duration_pb2.Duration(seconds=10),
        vip_timeout=duration_pb2.Duration(seconds=0),
        channel_limits=[res.ChannelLimit(channel_id=VOICE, max_waiting=10),
                        res.ChannelLimit(channel_id=WECHAT, max_waiting=10)],
    )), "UpsertQueue")
    say(f"created={r.created} strategy={r.queue.strategy} "
        f"delivery={name(res.DeliveryMode, r.queue.delivery_mode)} "
        f"preferred={r.queue.preferred_timeout.seconds}s "
        f"last_agent={r.queue.last_agent_timeout.seconds}s "
        f"vip={r.queue.vip_timeout.seconds}s")
    check(r.queue.id == QUEUE_ID, f"UpsertQueue returned queue {r.queue.id!r}")
    check(r.queue.strategy == "longest_idle", "the default strategy should be longest_idle")

    for agent_id, display_name in zip(AGENT_IDS, ("Example Engineer One",
                                                  "Example Engineer Two")):
        step(f"AdminService.UpsertAgent {agent_id}")
        r = call(admin.UpsertAgent, admin_pb.UpsertAgentRequest(agent=res.Agent(
            id=agent_id,
            display_name=display_name,
            tier=res.AGENT_TIER_CORE,
            channels=[res.ChannelCapacity(channel_id=VOICE, max=1),
                      res.ChannelCapacity(channel_id=WECHAT, max=3)],
            queue_ids=[QUEUE_ID],
        )), "UpsertAgent")
        say(f"created={r.created} presence={name(res.Presence, r.agent.status.presence)} "
            f"tier={name(res.AgentTier, r.agent.tier)} budget={r.agent.status.budget}")
        check(r.agent.id == agent_id, f"UpsertAgent returned agent {r.agent.id!r}")

    # The desktops open their offer streams before going AVAILABLE, so no offer is missed.
    # The first goes AVAILABLE first: it has been idle longest, and longest_idle picks it.
    desks = {}
    for agent_id in AGENT_IDS:
        step(f"AgentService.StreamOffers {agent_id}, then SetPresence AVAILABLE")
        desks[agent_id] = Desktop(agents, agent_id, readers)
        desks[agent_id].open()
    first, second = AGENT_IDS

    # 2. The phone gateway learns who is calling: the number is a new customer. The number is
    #    new on every run so that the example can run again against the same daemon.
    run_tag = uuid.uuid4().hex[:8]
    phone = res.CustomerHandle(kind="phone",
                               value=f"+86138{int(run_tag, 16) % 100000000:08d}")
    openid = res.CustomerHandle(kind="wechat", value=f"o6_example{run_tag}")

    step(f"CustomerService.ResolveCustomer {phone.kind}:{phone.value}")
    r = call(customers.ResolveCustomer, customer_pb.ResolveCustomerRequest(handle=phone),
             "ResolveCustomer")
    customer = r.customer
    cid = customer.customer_id
    say(f"created={r.created} {describe_customer(customer)}")
    check(r.created, "an unknown phone number creates a customer")
    check(cid, "the new customer has an id")
    check(list(customer.handles) == [phone], "the new customer holds the phone handle")
    check(customer.interaction_count == 0, "a new customer has no history")

    step("CustomerService.ResolveCustomer again (the same caller, later): the same customer")
    r = call(customers.ResolveCustomer, customer_pb.ResolveCustomerRequest(handle=phone),
             "ResolveCustomer again")
    say(f"created={r.created} customer={r.customer.customer_id}")
    check(not r.created and r.customer.customer_id == cid,
          f"resolving the number again answered {r.customer.customer_id} "
          f"(created={r.created}), expected {cid}")

    step(f"CustomerService.UpdateCustomer {cid}: VIP level 2, tag new-home")
    r = call(customers.UpdateCustomer, customer_pb.UpdateCustomerRequest(
        customer_id=cid, customer=customer_pb.CustomerRecord(vip_level=2),
        update_mask=["vip_level"], add_tags=["new-home"]), "UpdateCustomer")
    say(describe_customer(r.customer))
    check(r.customer.vip_level == 2, "the customer is VIP level 2")
    check(list(r.customer.tags) == ["new-home"], "the customer is tagged new-home")

    step(f"CustomerService.LinkHandle {openid.kind}:{openid.value} -> {cid}")
    r = call(customers.LinkHandle, customer_pb.LinkHandleRequest(customer_id=cid, handle=openid),
             "LinkHandle")
    say(describe_customer(r.customer))
    check(list(r.customer.handles) == [phone, openid],
          "the customer holds both handles, sorted by kind then value")
    r = call(customers.ResolveCustomer, customer_pb.ResolveCustomerRequest(
        handle=openid, create=False), "ResolveCustomer (openid)")
    say(f"ResolveCustomer {openid.kind}:{openid.value} (create=false): "
        f"{r.customer.customer_id} created={r.created}")
    check(r.customer.customer_id == cid and not r.created, "the openid resolves to the customer")

    # 3. The customer phones: the gateway names the number, the daemon fills in the rest.
    step("SessionService.CreateSession on voice with customer_handle = the phone number")
    r = call(sessions.CreateSession, session_pb.CreateSessionRequest(
        request_id=f"ivr-{uuid.uuid4()}", channel_id=VOICE, queue_id=QUEUE_ID,
        customer_handle=phone, intent=INTENT), "CreateSession (voice)")
    voice_sid = r.session.id
    c = r.session.customer
    say(f"session {voice_sid} {name(res.SessionState, r.session.state)} customer={c.id} "
        f"vip={c.vip_level} tags={list(c.tags)}")
    check(c.id == cid, f"the session's customer is {c.id!r}, expected {cid!r}")
    check(c.vip_level == 2 and "new-home" in c.tags,
          "the session carries the directory's VIP level and tags")
    check(not c.preferred_agent_ids and not c.last_agent_id,
          "a new customer has no favourite and no last agent")

    step(f"the call is offered to {first} (longest idle); {first} serves it")
    offer = desks[first].wait_offer(voice_sid)
    check(offer.reason.stage == res.ROUTING_STAGE_QUEUE,
          f"a customer with no history is routed in stage QUEUE, "
          f"got {name(res.RoutingStage, offer.reason.stage)}")
    desks[first].serve(sessions, offer)

    # 4. The customer rates the call in the app.
    step(f"CustomerService.GetAgentRating {first} (before the rating)")
    before = call(customers.GetAgentRating, customer_pb.GetAgentRatingRequest(agent_id=first),
                  "GetAgentRating").agent
    say(describe_agent_rating(before))

    step(f"CustomerService.RateSession {voice_sid}: 5 stars, patient, favourite, a tip")
    rating = customer_pb.Rating(stars=5, tags=["patient"], favourite=True, tip_cents=500)
    r = call(customers.RateSession, customer_pb.RateSessionRequest(
        session_id=voice_sid, rating=rating), "RateSession")
    say(f"interaction {r.interaction.session_id}: agent={r.interaction.agent_id} "
        f"{describe_rating(r.interaction.rating)} "
        f"at {r.interaction.rating.rate_time.ToJsonString()}")
    say(f"agent after: {describe_agent_rating(r.agent)}")
    check(r.interaction.session_id == voice_sid and r.interaction.agent_id == first,
          f"the rated interaction is session {r.interaction.session_id} of "
          f"{r.interaction.agent_id!r}")
    check(r.interaction.HasField("rating") and r.interaction.rating.stars == 5
          and list(r.interaction.rating.tags) == ["patient"]
          and r.interaction.rating.favourite and r.interaction.rating.tip_cents == 500,
          "the interaction carries the rating given")
    check(r.interaction.rating.HasField("rate_time"), "the daemon sets the rating's rate_time")
    after = r.agent
    check(after.agent_id == first, f"RateSession answered the record of {after.agent_id!r}")
    check(after.rating_count == before.rating_count + 1, "one more rating")
    check(after.favourite_count == before.favourite_count + 1, "one more favourite")
    check(after.tip_cents_total == before.tip_cents_total + 500, "500 cents more in tips")
    check(any(t.tag == "patient" for t in after.top_tags), "'patient' is among the top tags")

    step(f"CustomerService.GetAgentRating {first}")
    shown = call(customers.GetAgentRating, customer_pb.GetAgentRatingRequest(agent_id=first),
                 "GetAgentRating").agent
    say(describe_agent_rating(shown))
    check(shown == after, "GetAgentRating shows the record RateSession answered")
    check(shown.handled_count >= 1, "the agent handled at least the call")

    step("RateSession again for the same session")
    details = expect_error(customers.RateSession, customer_pb.RateSessionRequest(
        session_id=voice_sid, rating=rating), grpc.StatusCode.ALREADY_EXISTS, "a second rating")
    say(f"ALREADY_EXISTS: {details}")

    step("RateSession with 0 stars")
    details = expect_error(customers.RateSession, customer_pb.RateSessionRequest(
        session_id=voice_sid, rating=customer_pb.Rating(stars=0)),
        grpc.StatusCode.INVALID_ARGUMENT, "a rating of 0 stars")
    say(f"INVALID_ARGUMENT: {details}")
    check(details.startswith("rating.stars"),
          f"the error should start with the field's path rating.stars: {details!r}")
    unchanged = call(customers.GetAgentRating, customer_pb.GetAgentRatingRequest(
        agent_id=first), "GetAgentRating").agent
    check(unchanged == after, "the refused ratings changed nothing")

    # 5. The next day the same person writes on WeChat. The other agent has been idle
    #    longer (the first one received work since), so longest_idle alone would pick it;
    #    but the customer's favourite (and last agent, on another channel) comes first.
    step("who would win without the customer's history: idle since (AdminService.GetAgent)")
    idle = {}
    for agent_id in AGENT_IDS:
        st = call(admin.GetAgent, admin_pb.GetAgentRequest(agent_id=agent_id),
                  "GetAgent").agent.status
        idle[agent_id] = st.idle_start_time.ToMicroseconds()
        say(f"{agent_id}: {name(res.Presence, st.presence)} holding {len(st.session_ids)} "
            f"idle since {st.idle_start_time.ToJsonString()}")
        check(st.presence == res.PRESENCE_AVAILABLE and not st.session_ids,
              f"{agent_id} is AVAILABLE and free")
    check(idle[second] < idle[first],
          f"{second} has been idle longer than {first}: longest_idle alone would pick it")

    step("SessionService.CreateSession on wechat with customer_handle = the openid")
    r = call(sessions.CreateSession, session_pb.CreateSessionRequest(
        request_id=f"wechat-gw-{uuid.uuid4()}", channel_id=WECHAT, queue_id=QUEUE_ID,
        customer_handle=openid, intent=INTENT), "CreateSession (wechat)")
    chat_sid = r.session.id
    c = r.session.customer
    say(f"session {chat_sid} {name(res.SessionState, r.session.state)} "
        f"stage={name(res.RoutingStage, r.session.stage)} customer={c.id} vip={c.vip_level} "
        f"tags={list(c.tags)} preferred={list(c.preferred_agent_ids)} "
        f"last_agent={c.last_agent_id}")
    check(c.id == cid, f"the openid resolved to {c.id!r}, expected {cid!r}")
    check(c.vip_level == 2 and "new-home" in c.tags, "the snapshot has the VIP level and tags")
    check(list(c.preferred_agent_ids[:1]) == [first],
          f"the customer's favourite {first} is the first preferred agent")
    check(c.last_agent_id == first, f"the last agent (on the phone) was {first}")

    step(f"the chat is offered first to {first}, the agent of the phone call")
    offer = desks[first].wait_offer(chat_sid)
    check(offer.session.channel_id == WECHAT, "the offer is the WeChat chat")
    check(offer.reason.stage in (res.ROUTING_STAGE_PREFERRED, res.ROUTING_STAGE_LAST_AGENT),
          f"the offer's stage should be PREFERRED or LAST_AGENT, "
          f"got {name(res.RoutingStage, offer.reason.stage)}")
    say(f"offered in stage {name(res.RoutingStage, offer.reason.stage)} "
        f"although {second} has been idle longer")
    desks[first].serve(sessions, offer)

    # 6. The customer's history, on every channel.
    step(f"CustomerService.ListInteractions {cid} (newest first)")
    r = call(customers.ListInteractions, customer_pb.ListInteractionsRequest(customer_id=cid),
             "ListInteractions")
    for i in r.interactions:
        say(f"session {i.session_id} {i.channel_id:6} queue={i.queue_id} agent={i.agent_id} "
            f"{name(customer_pb.InteractionOutcome, i.outcome)} "
            f"handle_time={i.handle_time.ToMilliseconds()}ms "
            f"rating: {describe_rating(i.rating) if i.HasField('rating') else '-'}")
    check(not r.next_page_token, "two interactions fit in one page")
    check([i.session_id for i in r.interactions] == [chat_sid, voice_sid],
          f"the history should be [{chat_sid}, {voice_sid}] (newest first), got "
          f"{[i.session_id for i in r.interactions]}")
    chat, voice = r.interactions
    check((chat.channel_id, voice.channel_id) == (WECHAT, VOICE), "WeChat, then voice")
    for i in (chat, voice):
        check(i.customer_id == cid and i.queue_id == QUEUE_ID and i.agent_id == first
              and i.outcome == customer_pb.INTERACTION_OUTCOME_COMPLETED,
              f"session {i.session_id}: completed by {first} in {QUEUE_ID}")
        check(i.intent == INTENT, f"session {i.session_id} has the intent {i.intent!r}")
        check(i.HasField("answer_time") and i.HasField("end_time"),
              f"session {i.session_id} has its answer and end times")
    check(voice.HasField("rating") and voice.rating.stars == 5 and voice.rating.favourite,
          "the call carries its rating")
    check(not chat.HasField("rating"), "the chat is not rated")

    step(f"CustomerService.GetCustomer {cid}")
    c = call(customers.GetCustomer, customer_pb.GetCustomerRequest(customer_id=cid),
             "GetCustomer").customer
    say(describe_customer(c))
    check(c.interaction_count == 2, "two sessions in the history")
    check(list(c.favourite_agent_ids) == [first], f"{first} is the favourite")
    check(c.last_agent_id == first and c.last_channel_id == WECHAT,
          f"the last agent is {first}, on WeChat")

    # 7. The agent picker of the app: who may the customer choose for a chat?
    step(f"CustomerService.ListAgentsForCustomer {cid} queue={QUEUE_ID} channel={WECHAT}")
    r = call(customers.ListAgentsForCustomer, customer_pb.ListAgentsForCustomerRequest(
        customer_id=cid, queue_id=QUEUE_ID, channel_id=WECHAT), "ListAgentsForCustomer")
    for a in r.agents:
        say(f"{a.agent_id} ({a.display_name}) {name(res.AgentTier, a.tier)} "
            f"{a.average_stars:.2f} stars of {a.rating_count} top_tags={list(a.top_tags)} "
            f"favourite={a.favourite} last_agent={a.last_agent} "
            f"{name(customer_pb.AgentAvailability, a.availability)}")
    check(r.queue_id == QUEUE_ID, f"the list is for queue {r.queue_id!r}")
    check([a.agent_id for a in r.agents] == [first, second],
          f"the picker should list [{first}, {second}], got {[a.agent_id for a in r.agents]}")
    fav, other = r.agents
    check(fav.favourite and fav.last_agent, f"{first} is marked favourite and last agent")
    check(not other.favourite and not other.last_agent, f"{second} is neither")
    check(fav.rating_count >= 1 and "patient" in fav.top_tags,
          f"{first} shows its ratings and the 'patient' tag")
    for a in r.agents:
        check(a.availability == customer_pb.AGENT_AVAILABILITY_AVAILABLE,
              f"{a.agent_id} is free: AVAILABLE")

    # The other agent was never disturbed.
    st = call(admin.GetAgentStats, admin_pb.GetAgentStatsRequest(agent_id=second),
              "GetAgentStats").stats
    say(f"{second}: offers={st.offers_count} assigned={st.assigned_count} "
        f"in the last {st.window.seconds}s")
    check(st.offers_count == 0, f"{second} was offered nothing")


def main():
    global res, admin_pb, admin_grpc, session_pb, session_grpc
    global agent_pb, agent_grpc, customer_pb, customer_grpc
    args = parse_args(__doc__)
    v1 = import_stubs(args.stubs)  # the package omniroute.v1
    res = v1.resources_pb2
    admin_pb, admin_grpc = v1.admin_service_pb2, v1.admin_service_pb2_grpc
    session_pb, session_grpc = v1.session_service_pb2, v1.session_service_pb2_grpc
    agent_pb, agent_grpc = v1.agent_service_pb2, v1.agent_service_pb2_grpc
    customer_pb, customer_grpc = v1.customer_service_pb2, v1.customer_service_pb2_grpc
    return run(args.address, run_example)


if __name__ == "__main__":
    sys.exit(main())
