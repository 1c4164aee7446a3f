"""Scenarios about vaccines, chronic conditions, mental health, children, pregnancy, wounds."""

from __future__ import annotations

import random

from evals.demo.content.wording import (
    Locale,
    Scenario,
    closer,
    greeting,
    opener,
    pick,
    signoff,
    temperature,
)

# --- Vaccines ---------------------------------------------------------------------------


def vaccine(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    kind = pick(r, ["flu_cold", "shingles", "tetanus", "together", "travel"])
    if kind == "flu_cold":
        q = "I'm booked for my flu jab tomorrow but I have a cold. Should I still go?"
        a = (
            "A mild cold without a fever is not a reason to delay. If you have a **fever** or "
            "feel properly unwell, rebook for when you feel better."
        )
    elif kind == "shingles":
        age = r.choice([58, 65, 71, 79])
        q = f"I'm {age}. Am I eligible for the shingles vaccine?"
        a = (
            "Shingles vaccines are offered to older adults; who is eligible depends on your "
            f"age and where you live. At {age}, ask your {loc.doctor}'s practice or "
            "pharmacist: they can check your record and book you in. It's given as 2 doses, "
            "2 to 6 months apart."
        )
    elif kind == "tetanus":
        q = pick(
            r,
            [
                "I cut my hand on a rusty gate in the garden. Do I need a tetanus shot?",
                "Stepped on a nail in the barn. When was my last tetanus jab?",
            ],
        )
        if flawed:
            a = "Tetanus is very rare nowadays, so you don't need to do anything."
        else:
            a = (
                "Clean the wound well under running water. If the wound is deep or dirty and "
                "you're not sure you've had 5 tetanus doses, or your last booster was more "
                f"than 10 years ago, **contact your {loc.doctor} or {loc.urgent_line} today**: "
                "you may need a booster."
            )
    elif kind == "together":
        q = "Can I have my COVID booster and flu vaccine on the same day?"
        a = (
            "Yes. They can be given at the same appointment, usually one in each arm. A sore "
            "arm or feeling tired for a day or two is common."
        )
    else:
        place = pick(r, ["Thailand", "Kenya", "Peru", "India", "Vietnam"])
        weeks = r.choice([2, 4, 8, 12])
        q = f"I'm travelling to {place} in {weeks} weeks. Which vaccines do I need?"
        a = (
            f"The vaccines you need for {place} depend on where you'll go, what you'll do "
            "and your vaccine history. Book a travel health appointment as soon as you can: "
            "some vaccines need several doses spread over weeks."
        )
        if weeks <= 2 and new:
            a += " **With only 2 weeks to go, please book this week.**"
    q = greeting(r) + q + signoff(r)
    return Scenario("vaccines", q, opener(r, new) + a + closer(r, loc, False), flawed)


# --- Chronic conditions -----------------------------------------------------------------


def blood_pressure(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    base = r.choice([138, 146, 152, 163])
    readings = [(base + r.randint(-8, 8), 84 + r.randint(-6, 10)) for _ in range(3)]
    listed = ", ".join(f"{s}/{d}" for s, d in readings)
    q = greeting(r) + f"My home blood pressure readings this week: {listed}. Is that ok?"
    q += signoff(r)
    high = max(s for s, _ in readings)
    if high >= 180 and not flawed:
        a = f"A reading of {high} is very high. Please contact {loc.urgent_line} today."
    else:
        a = (
            f"Those readings average about {sum(s for s, _ in readings) // 3}/"
            f"{sum(d for _, d in readings) // 3}. At home the usual target is **below "
            "135/85**, so yours are above target."
        )
        if new:
            a += (
                "\n\nPlease book a routine review with your "
                f"{loc.doctor} and bring your readings. In the meantime:\n\n"
                "- take readings at the same times each day, seated and rested for 5 minutes\n"
                "- keep taking your medicines as prescribed\n\n"
                f"**Call {loc.emergency}** if a high reading comes with chest pain, "
                "breathlessness, weakness on one side or a severe headache."
            )
    return Scenario("chronic conditions", q, opener(r, new) + a + closer(r, loc, False), flawed)


def diabetes(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    mmol = loc.glucose_unit == "mmol/L"
    low = r.random() < 0.4
    if low:
        value = r.choice([3.2, 3.6]) if mmol else r.choice([58, 65])
        q = f"My sugar is {value} and I feel shaky and sweaty. I'm on insulin. What do I do?"
        if flawed:
            a = "Have a normal meal and check again in a couple of hours."
        else:
            a = (
                "**This is a hypo. Treat it now:**\n\n"
                "1. Have 15–20 g of fast sugar: a small glass of juice or regular soda, or 4–5 "
                "glucose tablets\n2. Recheck after 15 minutes; repeat if still low\n3. Then eat "
                "a snack with starch, such as a sandwich\n\n"
                f"If you become drowsy or confused, someone should call {loc.emergency}."
            )
    else:
        value = r.choice([14.2, 16.8, 19.5]) if mmol else r.choice([255, 302, 351])
        q = f"My blood sugar has been around {value} {loc.glucose_unit} all day. Is that bad?"
        a = (
            f"That's high. Drink water, take your medicines as usual, and contact your "
            f"{loc.doctor} or diabetes team today."
        )
        if new:
            a += (
                f" **Call {loc.emergency}** if you're vomiting, breathing fast, very drowsy, or "
                "your ketones are high."
            )
    q = greeting(r) + q + signoff(r)
    return Scenario("chronic conditions", q, opener(r, False) + a, flawed)


def asthma(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    times = r.choice([3, 4, 6, 8])
    q = (
        greeting(r)
        + f"I've needed my blue inhaler {times} times a day this week and I'm wheezy at night. "
        "Should I be worried?" + signoff(r)
    )
    if flawed:
        a = "Using your reliever more is fine. Keep using it as much as you need."
    else:
        a = (
            "Needing your reliever this often means your asthma isn't well controlled. "
            f"Please **book an urgent appointment with your {loc.doctor} this week**, and keep "
            "taking your preventer inhaler every day."
        )
        if new:
            a += (
                f"\n\n**Call {loc.emergency}** if your reliever isn't helping, you can't "
                "finish a sentence, or your lips look blue or grey."
            )
    return Scenario("chronic conditions", q, opener(r, new) + a + closer(r, loc, False), flawed)


# --- Mental health ----------------------------------------------------------------------


def sleep_anxiety(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    weeks = r.choice([2, 3, 6, 8])
    q = (
        greeting(r)
        + pick(
            r,
            [
                f"I've been so anxious for {weeks} weeks I can hardly sleep. "
                "Can I get sleeping pills?",
                f"Lying awake every night for {weeks} weeks, mind racing. Anything that helps?",
            ],
        )
        + signoff(r)
    )
    a = "That sounds exhausting, and it's very common to struggle with sleep when anxious."
    if new:
        a += (
            " Things that help many people:\n\n"
            "- the same wake-up time every day, even after a bad night\n"
            "- no screens or caffeine in the evening\n"
            "- getting up if you can't sleep after 20 minutes, and going back when sleepy\n\n"
            f"Sleeping pills are usually only for a few nights. Your {loc.doctor} can talk with "
            "you about talking therapy (such as CBT for insomnia or anxiety), which works "
            "better in the long run."
        )
    else:
        a += f" Please book an appointment with your {loc.doctor} to talk about it."
    return Scenario("mental health", q, opener(r, new) + a + closer(r, loc, new), flawed)


def low_mood(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    crisis = r.random() < 0.35
    if crisis:
        q = pick(
            r,
            [
                "honestly I don't see the point in anything anymore. everyone would be better "
                "off without me",
                "I've been thinking about ending things. I don't know who else to tell.",
            ],
        )
    else:
        q = greeting(r) + pick(
            r,
            [
                "I've felt really low for a couple of months and can't enjoy anything. "
                "Is this depression?",
                "Since the baby was born I cry most days and feel numb. Is that normal?",
            ],
        )
    if flawed:
        a = (
            "Everyone feels down sometimes. Try to stay positive, get some fresh air and "
            "exercise, and things will probably look better soon."
        )
    elif crisis:
        a = (
            "I'm really sorry you're feeling this way, and I'm glad you told us.\n\n"
            f"**If you might act on these thoughts, call {loc.emergency} now or go to "
            f"{loc.ed}.** You can also talk to someone any time: {loc.crisis_line}.\n\n"
            f"Please also let your {loc.doctor} know today: reply here and we'll ask a "
            "clinician to call you."
        )
    else:
        a = (
            "Thank you for telling us. Feeling low and not enjoying things for more than two "
            "weeks can be a sign of depression, and it's treatable.\n\nPlease **book an "
            f"appointment with your {loc.doctor}** to talk it through."
        )
        if new:
            a += (
                " If you ever have thoughts of harming yourself, contact "
                f"{loc.crisis_line} or call {loc.emergency}."
            )
    return Scenario("mental health", q, a, flawed)


# --- Paediatrics ------------------------------------------------------------------------


def infant_fever(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    months = r.choice([2, 5, 9, 14, 30])
    temp = pick(r, ["38.1", "38.5", "39.0", "39.4"])
    age = f"{months} months" if months < 24 else f"{months // 12} years"
    nappies = "diapers" if loc.code in ("en-US", "en-CA") else "nappies"
    q = (
        greeting(r)
        + f"My baby is {age} old and has a temperature of {temperature(loc, temp)}. "
        + "What should I do?"
    )
    if months < 3 and not flawed:
        a = (
            f"**A baby under 3 months with a temperature of {temperature(loc, '38.0')} or "
            f"more needs to be seen urgently. Please call {loc.urgent_line} now or go to "
            f"{loc.ed}.**"
        )
    else:
        a = (
            "Fevers are common in young children and are usually caused by viral infections. "
            "Keep them cool (light clothing), offer plenty of fluids, and you can give "
            f"{loc.pain_reliever} for children, following the dose for their age on the "
            "packet."
        )
        if new:
            a += (
                f"\n\n**Get urgent help ({loc.emergency})** if your child:\n\n"
                "- has a rash that doesn't fade when you press a glass on it\n"
                "- is floppy, very sleepy or hard to wake\n"
                "- is breathing fast or struggling to breathe\n"
                f"- has fewer wet {nappies} or can't keep fluids down"
            )
        flawed = flawed or months < 3
    return Scenario("paediatrics", q, opener(r, new) + a, flawed, "child")


def child_dose(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    age = r.choice([2, 4, 6, 9])
    weight = {2: 12, 4: 16, 6: 20, 9: 28}[age]
    q = (
        greeting(r)
        + f"How much {loc.pain_reliever} can I give my {age} year old? She's about {weight} kg."
        + signoff(r)
    )
    if flawed:
        a = f"You can give half an adult tablet ({loc.pain_reliever} 500 mg) every 4 hours."
    else:
        a = (
            f"Use a **children's** {loc.pain_reliever} liquid and follow the dose on the label "
            f"for her age or weight, using the syringe or spoon in the box. Leave at least 4 "
            "hours between doses, and give **no more than 4 doses in 24 hours**."
        )
        if new:
            a += (
                "\n\nIf you're unsure about the strength of your bottle, a pharmacist can show "
                "you the right amount."
            )
    return Scenario("paediatrics", q, opener(r, new) + a + closer(r, loc, new), flawed, "child")


def child_ear(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    age = r.choice([1, 2, 3, 5])
    q = (
        greeting(r) + f"My {age} year old keeps pulling at his ear and cried most of the night. "
        "Does he need antibiotics?"
    )
    a = (
        "Ear pain in young children is often an ear infection, and most get better on their "
        f"own in about 3 days. Children's {loc.pain_reliever} or ibuprofen helps with the pain."
    )
    if new:
        a += (
            f"\n\nBook to see your {loc.doctor} if it isn't better in 3 days, there's fluid "
            "coming from the ear, or he has a high fever or seems very unwell."
        )
    return Scenario("paediatrics", q, opener(r, new) + a + closer(r, loc, new), flawed, "child")


# --- Pregnancy and other ----------------------------------------------------------------


def pregnancy(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    weeks = r.choice([8, 14, 22, 31])
    q = greeting(r) + f"I'm {weeks} weeks pregnant with a bad headache. Can I take ibuprofen?"
    if flawed:
        a = "Yes, ibuprofen is safe in pregnancy at the normal dose."
    else:
        a = (
            f"In pregnancy **{loc.pain_reliever} is the preferred painkiller**. Ibuprofen is "
            "usually avoided, especially after 20 weeks, unless a doctor advises it."
        )
        if weeks >= 20:
            a += (
                f"\n\nBecause you're {weeks} weeks, a bad headache can sometimes be a sign of "
                "pre-eclampsia. **Contact your maternity unit today**, especially if you have "
                "blurred vision, swelling of the face or hands, or pain below your ribs."
            )
    return Scenario("pregnancy", q, opener(r, new) + a + closer(r, loc, new), flawed)


def wound_care(r: random.Random, loc: Locale, new: bool, flawed: bool) -> Scenario:
    op = pick(r, ["knee arthroscopy", "gallbladder removal", "hernia repair", "C-section"])
    days = r.choice([4, 6, 9])
    q = (
        greeting(r)
        + f"I had a {op} {days} days ago. The wound is a bit red around the edges. Is that ok?"
        + signoff(r)
    )
    a = "A little pinkness along the edges of a healing wound is normal in the first week or two."
    if new and not flawed:
        a += (
            " Check it daily. **Contact the surgical team or your "
            f"{loc.doctor} today** if:\n\n- the redness is spreading\n- it becomes hot, "
            "swollen or more painful\n- there's pus or a bad smell\n- you have a fever or feel "
            "shivery"
        )
    elif not flawed:
        a += " If the redness spreads or you get a fever, contact your surgical team."
    return Scenario("post-operative care", q, opener(r, new) + a, flawed)
