"""Write the packaged SQuAD v1.1 sample: ``include/gemini_qa_tuning/sample_data/squad-sample-v1.1.json``.

The articles below are original text written for this project about fictional places, institutions and
things, so that a model cannot answer from memory and must read the context. Every answer is a span of
its paragraph; the script finds its offset (``answer_start``), derives a few alternative reference
answers the way different annotators would mark the span (with or without a leading article or
preposition), and fails loudly if any answer is not in its paragraph.

Beyond those hand-written articles, :func:`gazetteer_articles` writes a gazetteer of invented villages
from fixed word lists (each village's facts picked by a hash of its name): enough articles that the
default split holds out more than the 100 test questions a promotion needs (``promotion_min_test_questions``),
so the offline demo can still promote.

A handful of deliberately flawed questions (:data:`FLAWED_QUESTIONS`) are added on top, so that the offline
demo shows the refresh setting records aside with a reason and dropping duplicates, as it must for real
sources. Run it again after editing:

    python -m devtools.make_sample_data

The output is deterministic (ids are hashes of title and question).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parents[1] / "include" / "gemini_qa_tuning" / "sample_data" / "squad-sample-v1.1.json"

# Words an annotator may or may not include in front of a span.
_LEADING_WORDS = ("the", "a", "an", "in", "on", "at", "by", "since", "until")

# (title, [(context, [(question, answer, *alternative answers), ...]), ...])
ARTICLES: list[tuple[str, list[tuple[str, list[tuple[str, ...]]]]]] = [
    (
        "Vellmoor",
        [
            (
                "Vellmoor is a harbour town on the northern shore of the Grey Sound, about 40 kilometres east of "
                "the city of Ardhaven. The town grew around a natural inlet that the early settlers called the "
                "Kettle because its water stayed calm even in winter storms. Records kept by the parish of Saint "
                "Oda mention a fishing village at the site in 1214, and by 1390 Vellmoor had a stone quay, a weekly "
                "market and a toll house. Its population reached 12,400 at the census of 1911 and has since fallen "
                "to about 8,700. The town is governed by an elected council of fifteen members, who choose a "
                "harbourmaster every four years.",
                [
                    ("On which shore of the Grey Sound does Vellmoor lie?", "northern shore", "the northern shore"),
                    ("How far is Vellmoor from Ardhaven?", "about 40 kilometres", "40 kilometres"),
                    ("In which direction from Ardhaven is Vellmoor?", "east"),
                    ("What did the early settlers call the inlet?", "the Kettle"),
                    ("Why was the inlet given its name?", "its water stayed calm even in winter storms"),
                    ("Which parish kept the records that mention the fishing village?", "Saint Oda"),
                    ("In what year is a fishing village first recorded at the site?", "1214"),
                    ("By 1390, what did Vellmoor have besides a stone quay?", "a weekly market and a toll house"),
                    ("What was the population of Vellmoor at the 1911 census?", "12,400"),
                    ("Roughly how many people live in Vellmoor now?", "about 8,700", "8,700"),
                    ("How many members does the town council have?", "fifteen"),
                    ("How often does the council choose a harbourmaster?", "every four years", "four years"),
                ],
            ),
            (
                "The economy of Vellmoor rested for centuries on the herring that gathered in the Grey Sound each "
                "autumn. At its height in the 1870s the town sent out more than 300 boats, and the smokehouses "
                "along Tanner Street employed some 900 women who gutted, salted and packed the catch. The herring "
                "shoals collapsed in the winter of 1932, which local people still call the Silent Year. Many "
                "families left for Ardhaven, while others turned to boatbuilding; the yard founded by Maren Hallik "
                "in 1934 built sturdy oak ketches that were sold as far away as Lisvane. Today the largest employer "
                "is a seaweed processing plant that opened in 2009 and turns kelp into food thickeners.",
                [
                    ("What fish did the economy of Vellmoor depend on?", "herring", "the herring"),
                    ("In which season did the herring gather in the Grey Sound?", "autumn", "each autumn"),
                    ("When was the Vellmoor fishing trade at its height?", "the 1870s", "in the 1870s"),
                    ("How many boats did Vellmoor send out at its height?", "more than 300 boats", "more than 300"),
                    ("On which street were the smokehouses?", "Tanner Street"),
                    ("About how many women worked in the smokehouses?", "some 900", "900"),
                    ("When did the herring shoals collapse?", "the winter of 1932", "1932"),
                    ("What do local people call the year the shoals collapsed?", "the Silent Year"),
                    ("Where did many families move after the collapse?", "Ardhaven"),
                    ("Who founded the boatbuilding yard in 1934?", "Maren Hallik"),
                    ("What kind of boats did Hallik's yard build?", "sturdy oak ketches", "oak ketches"),
                    ("What is the largest employer in Vellmoor today?", "a seaweed processing plant"),
                    ("What does the processing plant make from kelp?", "food thickeners"),
                ],
            ),
            (
                "The Vellmoor lighthouse stands on Corran Point at the mouth of the Kettle. It was designed by the "
                "engineer Isolde Brack and first lit on 3 March 1861. The tower is 31 metres tall and is built of "
                "granite quarried at Hollin Fell, a hill two days' cart ride inland. Its lamp originally burned "
                "whale oil, was converted to paraffin in 1888 and was electrified in 1951. The light shows two "
                "white flashes every fifteen seconds and can be seen from 22 nautical miles away in clear weather. "
                "The last resident keeper, Tobias Renn, retired in 1987, after which the light was operated "
                "automatically from Ardhaven.",
                [
                    ("On which headland does the Vellmoor lighthouse stand?", "Corran Point"),
                    ("Who designed the lighthouse?", "Isolde Brack", "the engineer Isolde Brack"),
                    ("When was the lighthouse first lit?", "3 March 1861", "on 3 March 1861"),
                    ("How tall is the lighthouse tower?", "31 metres"),
                    ("What stone is the tower built of?", "granite"),
                    ("Where was the granite for the tower quarried?", "Hollin Fell"),
                    ("What fuel did the lamp burn originally?", "whale oil"),
                    ("In what year was the lamp converted to paraffin?", "1888"),
                    ("When was the lighthouse electrified?", "1951", "in 1951"),
                    ("What signal does the light show?", "two white flashes every fifteen seconds"),
                    ("From how far away can the light be seen in clear weather?", "22 nautical miles"),
                    ("Who was the last resident keeper?", "Tobias Renn"),
                    ("From where has the light been operated since the last keeper retired?", "Ardhaven"),
                ],
            ),
            (
                "Every year on the second Saturday of September Vellmoor holds the Lantern Tide festival. It began "
                "in 1933, the year after the herring failed, when fishermen's families floated paper lanterns on "
                "the Kettle to remember the boats that had been lost at sea. The festival now draws around 20,000 "
                "visitors. Its best-known event is the Gig Race, in which crews of six row wooden gigs from the "
                "quay to Corran Point and back, a course of 4.2 kilometres. The winning crew receives the Brass "
                "Oar, a trophy cast from the bell of the wrecked steamer Margit. The day ends after dark with a "
                "procession of lanterns led by the youngest child of the town.",
                [
                    ("What is the name of Vellmoor's festival?", "Lantern Tide", "the Lantern Tide festival"),
                    ("On what day is the festival held?", "the second Saturday of September"),
                    ("In what year did the festival begin?", "1933"),
                    ("What did the families float on the Kettle?", "paper lanterns"),
                    ("Why did families first float lanterns?", "to remember the boats that had been lost at sea"),
                    ("How many visitors does the festival draw?", "around 20,000", "20,000"),
                    ("What is the best-known event of the festival?", "the Gig Race", "Gig Race"),
                    ("How many rowers make up a crew in the Gig Race?", "six"),
                    ("How long is the Gig Race course?", "4.2 kilometres"),
                    ("What trophy does the winning crew receive?", "the Brass Oar", "Brass Oar"),
                    ("What was the trophy cast from?", "the bell of the wrecked steamer Margit"),
                    ("Who leads the procession of lanterns?", "the youngest child of the town"),
                ],
            ),
            (
                "Vellmoor is reached by the coast road from Ardhaven and by a branch of the Aldren Line, whose "
                "station opened in 1879 and closed to passengers in 1966. A ferry crosses the Grey Sound to the "
                "island of Skarra four times a day in summer and twice a day in winter; the crossing takes fifty "
                "minutes. The old toll house now holds the Vellmoor Museum, whose collection includes a herring "
                "boat called the Dawn Wren and the logbooks of the lighthouse. The town's secondary school, "
                "Kettleside Academy, was rebuilt in 2015 after a fire destroyed its library. Vellmoor is twinned "
                "with the river port of Osterbeck.",
                [
                    ("Which railway had a branch to Vellmoor?", "the Aldren Line", "Aldren Line"),
                    ("When did Vellmoor station open?", "1879", "in 1879"),
                    ("When did the station close to passengers?", "1966", "in 1966"),
                    ("To which island does the ferry sail?", "Skarra", "the island of Skarra"),
                    ("How many ferry crossings are there per day in summer?", "four times a day", "four"),
                    ("How long does the ferry crossing take?", "fifty minutes"),
                    ("What building holds the Vellmoor Museum?", "The old toll house", "toll house"),
                    ("What is the name of the herring boat in the museum?", "the Dawn Wren", "Dawn Wren"),
                    ("What is the name of the town's secondary school?", "Kettleside Academy"),
                    ("When was the school rebuilt?", "2015", "in 2015"),
                    ("What did the fire at the school destroy?", "its library", "library"),
                    ("With which town is Vellmoor twinned?", "Osterbeck"),
                ],
            ),
        ],
    ),
    (
        "Aldren_Line",
        [
            (
                "The Aldren Line is a railway of 142 kilometres that links the inland city of Caddow with the port "
                "of Ardhaven. It was promoted by the Aldren Valley Railway Company, founded in 1868 by a group of "
                "wool merchants led by Edwin Sowerby, who wanted a faster way to carry fleeces to the sea than the "
                "slow barges of the River Aldren. Construction began in 1870 and the whole line opened on 14 June "
                "1874. The company's chief engineer was Harriet Quayle, one of the first women to hold such a post; "
                "she chose a route along the north bank of the river to avoid the marshes of the Saltings.",
                [
                    ("How long is the Aldren Line?", "142 kilometres"),
                    ("Which inland city does the line link with Ardhaven?", "Caddow"),
                    ("Which company promoted the railway?", "the Aldren Valley Railway Company"),
                    ("When was the railway company founded?", "1868", "in 1868"),
                    ("What trade were the company's founders in?", "wool merchants", "wool"),
                    ("Who led the founders of the company?", "Edwin Sowerby"),
                    ("What did the founders want to carry to the sea?", "fleeces"),
                    ("What was slow about carrying goods on the River Aldren?", "barges", "the slow barges"),
                    ("When did construction begin?", "1870", "in 1870"),
                    ("On what date did the whole line open?", "14 June 1874", "on 14 June 1874"),
                    ("Who was the company's chief engineer?", "Harriet Quayle"),
                    ("Along which bank of the river does the route run?", "the north bank", "north bank"),
                    ("Which marshes did the route avoid?", "the Saltings", "the marshes of the Saltings"),
                ],
            ),
            (
                "The most celebrated structure on the line is the Greyholm Viaduct, which carries the railway "
                "across the gorge of the Tarr Beck on nineteen brick arches. It is 402 metres long and 38 metres "
                "high at its tallest pier. About 4 million bricks were fired for it in kilns built beside the "
                "site, using clay dug from the valley floor. Two workers died during its construction, and a "
                "plaque with their names was placed on the eastern abutment in 1924. The viaduct was strengthened "
                "with steel bands in 1958 and was listed as a protected monument in 1981.",
                [
                    ("What is the most celebrated structure on the line?", "the Greyholm Viaduct"),
                    ("Which gorge does the viaduct cross?", "the gorge of the Tarr Beck", "Tarr Beck"),
                    ("How many arches does the viaduct have?", "nineteen"),
                    ("What are the arches made of?", "brick"),
                    ("How long is the Greyholm Viaduct?", "402 metres"),
                    ("How high is the viaduct at its tallest pier?", "38 metres"),
                    ("About how many bricks were fired for the viaduct?", "About 4 million", "4 million"),
                    ("Where was the clay for the bricks dug?", "the valley floor"),
                    ("How many workers died building the viaduct?", "Two"),
                    ("Where is the plaque with the workers' names?", "the eastern abutment"),
                    ("When was the plaque placed?", "1924", "in 1924"),
                    ("With what was the viaduct strengthened in 1958?", "steel bands"),
                    ("When was the viaduct listed as a protected monument?", "1981", "in 1981"),
                ],
            ),
            (
                "Passenger services on the Aldren Line were first worked by small tank engines built in Caddow by "
                "the firm of Pell and Garside. In 1902 the company introduced the Aldren Flyer, an express that "
                "covered the whole line in two hours and ten minutes with a single stop at Marlow Cross. The line "
                "was absorbed into the national network in 1923. Steam traction ended in 1967, when diesel "
                "railcars took over, and the section between Caddow and Marlow Cross was electrified in 1999. "
                "Around 6,500 passengers now use the line on an average weekday, most of them commuters to "
                "Ardhaven.",
                [
                    ("What kind of engines first worked passenger services?", "small tank engines", "tank engines"),
                    ("Which firm built the first engines?", "Pell and Garside"),
                    ("In which city were the first engines built?", "Caddow"),
                    ("What was the name of the express introduced in 1902?", "the Aldren Flyer", "Aldren Flyer"),
                    ("How long did the express take to cover the line?", "two hours and ten minutes"),
                    ("Where did the express make its single stop?", "Marlow Cross"),
                    ("When was the line absorbed into the national network?", "1923", "in 1923"),
                    ("When did steam traction end on the line?", "1967", "in 1967"),
                    ("What replaced steam engines?", "diesel railcars"),
                    ("Which section was electrified in 1999?", "between Caddow and Marlow Cross"),
                    ("How many passengers use the line on an average weekday?", "Around 6,500", "6,500"),
                    ("Who are most of the passengers today?", "commuters to Ardhaven", "commuters"),
                ],
            ),
            (
                "Freight once made up most of the Aldren Line's income. Besides wool, the trains carried slate from "
                "the quarries at Penhallow, barley for the maltings of Caddow and, from 1890, coal from the Dunmere "
                "pits to the bunkering wharves of Ardhaven. Goods traffic peaked in 1913 at about 1.1 million "
                "tonnes. The closure of the Dunmere pits in 1972 ended the coal trains, and the last regular "
                "freight service, a nightly slate train, ran on 30 September 1988. The former goods yard at Marlow "
                "Cross is now a park with a café in the old weighbridge office.",
                [
                    ("What once made up most of the line's income?", "Freight"),
                    ("From which quarries did the trains carry slate?", "Penhallow", "the quarries at Penhallow"),
                    ("What grain did the trains carry for the maltings?", "barley"),
                    ("Where were the maltings?", "Caddow"),
                    ("From what year did the line carry coal?", "1890"),
                    ("From which pits did the coal come?", "the Dunmere pits", "Dunmere"),
                    ("Where was the coal taken?", "the bunkering wharves of Ardhaven"),
                    ("When did goods traffic peak?", "1913", "in 1913"),
                    ("How much freight did the line carry at its peak?", "about 1.1 million tonnes"),
                    ("What ended the coal trains?", "The closure of the Dunmere pits"),
                    ("What was the last regular freight service?", "a nightly slate train"),
                    ("When did the last regular freight train run?", "30 September 1988", "on 30 September 1988"),
                    ("What is the former goods yard at Marlow Cross now?", "a park"),
                    ("Where is the café in the park?", "the old weighbridge office"),
                ],
            ),
            (
                "In 2019 a volunteer society, the Friends of the Aldren Line, restored the branch from Harrowgate "
                "Junction to Vellmoor as a heritage railway. Its trains run on weekends from April to October and "
                "are hauled by the engine Sowerby, a tank locomotive of 1896 that spent sixty years as a monument "
                "in a school playground. The society has about 1,200 members and its workshop occupies the old "
                "engine shed at Harrowgate. A return ticket costs 14 crowns for adults, and children under five "
                "travel free. In its first season the heritage line carried 31,000 passengers, twice the number "
                "the society had hoped for.",
                [
                    ("What is the name of the volunteer society?", "the Friends of the Aldren Line"),
                    ("In what year did the society restore the branch?", "2019", "In 2019"),
                    ("From which junction does the heritage branch start?", "Harrowgate Junction"),
                    ("In which months do the heritage trains run?", "from April to October", "April to October"),
                    ("On which days do the heritage trains run?", "weekends", "on weekends"),
                    ("What is the name of the engine that hauls the heritage trains?", "Sowerby"),
                    ("When was the engine Sowerby built?", "1896", "of 1896"),
                    ("Where did the engine spend sixty years as a monument?", "a school playground"),
                    ("How many members does the society have?", "about 1,200", "1,200"),
                    ("Where is the society's workshop?", "the old engine shed at Harrowgate"),
                    ("How much is an adult return ticket?", "14 crowns"),
                    ("Who travels free?", "children under five"),
                    ("How many passengers did the heritage line carry in its first season?", "31,000"),
                ],
            ),
        ],
    ),
    (
        "Quillfeather_Observatory",
        [
            (
                "Quillfeather Observatory stands at an altitude of 2,140 metres on the summit of Mount Esk, above "
                "the town of Brennach. It was founded in 1897 by the astronomer Lucan Ferrier with money left to "
                "him by his aunt, the novelist Agathe Quillfeather, after whom it is named. Ferrier chose the "
                "mountain because its dry air and steady winds gave sharper images of the stars than any site near "
                "the capital. Supplies were first carried up by mules along a track of eleven kilometres; a "
                "funicular railway replaced them in 1926. The observatory has been run by the University of "
                "Brennach since 1948.",
                [
                    ("At what altitude does the observatory stand?", "2,140 metres"),
                    ("On which mountain is the observatory?", "Mount Esk"),
                    ("Which town lies below the observatory?", "Brennach"),
                    ("When was the observatory founded?", "1897", "in 1897"),
                    ("Who founded the observatory?", "Lucan Ferrier", "the astronomer Lucan Ferrier"),
                    ("Who left Ferrier the money for the observatory?", "his aunt", "Agathe Quillfeather"),
                    ("What was Agathe Quillfeather's profession?", "novelist", "the novelist"),
                    ("Why did Ferrier choose the mountain?", "its dry air and steady winds"),
                    ("How were supplies first carried up?", "by mules", "mules"),
                    ("How long was the mule track?", "eleven kilometres"),
                    ("What replaced the mules in 1926?", "a funicular railway"),
                    ("Who has run the observatory since 1948?", "the University of Brennach"),
                ],
            ),
            (
                "The observatory's first large instrument was the Great Refractor, a telescope with a lens 68 "
                "centimetres across, ground by the optician Sabine Worrell in her workshop at Lisvane over three "
                "years. It was installed in the east dome in 1903. With it Ferrier's assistant, Otto Kessel, "
                "discovered the faint companion of the star Vega Minor in 1911 and measured its orbit, which takes "
                "47 years. The refractor was used for research until 1979 and is now shown to the public on clear "
                "Friday evenings. Its brass tube weighs about nine tonnes and is turned by a clockwork drive "
                "wound by hand.",
                [
                    ("What was the observatory's first large instrument?", "the Great Refractor"),
                    ("How wide is the lens of the Great Refractor?", "68 centimetres"),
                    ("Who ground the lens?", "Sabine Worrell", "the optician Sabine Worrell"),
                    ("Where was Worrell's workshop?", "Lisvane"),
                    ("How long did grinding the lens take?", "three years"),
                    ("In which dome was the refractor installed?", "the east dome", "east dome"),
                    ("When was the refractor installed?", "1903", "in 1903"),
                    ("Who discovered the companion of Vega Minor?", "Otto Kessel"),
                    ("When was the companion of Vega Minor discovered?", "1911", "in 1911"),
                    ("How long does the companion's orbit take?", "47 years"),
                    ("Until when was the refractor used for research?", "1979", "until 1979"),
                    ("When is the refractor shown to the public?", "clear Friday evenings", "on clear Friday evenings"),
                    ("How much does the refractor's tube weigh?", "about nine tonnes", "nine tonnes"),
                    ("What turns the telescope?", "a clockwork drive wound by hand", "a clockwork drive"),
                ],
            ),
            (
                "In 1962 the observatory added the Halden Reflector, whose mirror of 2.4 metres was cast from "
                "low-expansion glass so that it would keep its shape on cold nights. The new telescope was used "
                "mainly to measure the spectra of galaxies. Its best-known result came in 1974, when the "
                "astronomer Ilse Varga showed that the Tressel Cluster of galaxies is moving away from us at about "
                "9,000 kilometres per second. The reflector was fitted with a digital camera in 1991, which "
                "replaced the photographic plates that had been developed in a darkroom under the dome. More than "
                "60,000 of those glass plates are kept in the observatory's archive.",
                [
                    ("Which telescope did the observatory add in 1962?", "the Halden Reflector", "Halden Reflector"),
                    ("How wide is the Halden Reflector's mirror?", "2.4 metres"),
                    ("What was the mirror cast from?", "low-expansion glass"),
                    ("Why was low-expansion glass used?", "so that it would keep its shape on cold nights"),
                    ("What was the reflector mainly used to measure?", "the spectra of galaxies", "spectra"),
                    ("When did the reflector give its best-known result?", "1974", "in 1974"),
                    ("Who showed that the Tressel Cluster is moving away?", "Ilse Varga"),
                    ("Which cluster of galaxies did Varga study?", "the Tressel Cluster", "Tressel Cluster"),
                    ("How fast is the Tressel Cluster moving away?", "about 9,000 kilometres per second"),
                    ("When was the reflector fitted with a digital camera?", "1991", "in 1991"),
                    ("What did the digital camera replace?", "the photographic plates", "photographic plates"),
                    ("Where were the photographic plates developed?", "in a darkroom under the dome"),
                    ("How many glass plates are kept in the archive?", "More than 60,000", "60,000"),
                ],
            ),
            (
                "Life at the observatory follows the night. Observers usually begin work an hour after sunset and "
                "stop at dawn, sleeping through the morning in a stone residence known as the Lodge, which has "
                "fourteen bedrooms and a library of star atlases. Cooking is done by a resident chef, and bread is "
                "still baked on site because the funicular does not run in deep snow. The observatory keeps a "
                "weather record that has been written up every night since 1898, one of the longest unbroken "
                "mountain records in the world. The coldest temperature in it, minus 31 degrees, was noted on 9 "
                "February 1956.",
                [
                    ("When do observers usually begin work?", "an hour after sunset"),
                    ("When do observers stop work?", "at dawn", "dawn"),
                    ("What is the observers' residence called?", "the Lodge", "Lodge"),
                    ("How many bedrooms does the Lodge have?", "fourteen"),
                    ("What kind of library does the Lodge have?", "a library of star atlases", "star atlases"),
                    ("Who does the cooking?", "a resident chef"),
                    ("Why is bread still baked on site?", "the funicular does not run in deep snow"),
                    ("Since when has the weather record been kept?", "1898", "since 1898"),
                    ("How often is the weather record written up?", "every night"),
                    ("What is the coldest temperature in the record?", "minus 31 degrees"),
                    ("When was the coldest temperature noted?", "9 February 1956", "on 9 February 1956"),
                ],
            ),
            (
                "Light from Brennach, which has grown to a city of 90,000 people, now threatens the observatory's "
                "dark skies. In 2008 the city council agreed to a lighting ordinance drawn up with the astronomers: "
                "street lamps must point downward, and after midnight shop signs must be switched off. The sky "
                "above Mount Esk was declared a dark-sky reserve in 2013, the first in the region. The observatory "
                "also runs a visitor centre, opened in 2016, where about 45,000 people a year look through a "
                "telescope of 50 centimetres and see a planetarium show narrated in four languages.",
                [
                    ("How many people live in Brennach?", "90,000", "90,000 people"),
                    ("What threatens the observatory's dark skies?", "Light from Brennach"),
                    ("When did the city council agree to a lighting ordinance?", "2008", "In 2008"),
                    ("Which way must street lamps point?", "downward"),
                    ("What must be switched off after midnight?", "shop signs"),
                    ("When was the sky above Mount Esk declared a dark-sky reserve?", "2013", "in 2013"),
                    ("When did the visitor centre open?", "2016", "in 2016"),
                    ("How many people visit the visitor centre each year?", "about 45,000", "45,000"),
                    ("How wide is the visitors' telescope?", "50 centimetres"),
                    ("In how many languages is the planetarium show narrated?", "four languages", "four"),
                    ("What was the dark-sky reserve the first of?", "the first in the region", "the region"),
                ],
            ),
        ],
    ),
    (
        "Marrowbell_cheese",
        [
            (
                "Marrowbell is a hard cheese made from the raw milk of cows grazing the high pastures of the Tollen "
                "Valley. Its name comes from the bell-shaped wooden moulds in which the curd is pressed, once carved "
                "from the marrow-wood tree that grows along the valley's streams. A whole cheese weighs between 11 "
                "and 14 kilograms and has a dark orange rind washed with brine and beer. The cheese is matured for "
                "at least ten months, and wheels kept for two years or more are sold as Old Marrowbell. Since 2004 "
                "the name may be used only for cheese made in the valley by a recognised method.",
                [
                    ("What kind of cheese is Marrowbell?", "a hard cheese", "hard"),
                    ("What milk is Marrowbell made from?", "the raw milk of cows", "raw milk"),
                    ("Where do the cows graze?", "the high pastures of the Tollen Valley"),
                    ("What gave the cheese its name?", "the bell-shaped wooden moulds", "bell-shaped wooden moulds"),
                    ("What tree were the moulds carved from?", "the marrow-wood tree", "marrow-wood"),
                    ("Where does the marrow-wood tree grow?", "along the valley's streams"),
                    ("How much does a whole cheese weigh?", "between 11 and 14 kilograms"),
                    ("What colour is the rind?", "dark orange"),
                    ("What is the rind washed with?", "brine and beer"),
                    ("For how long is the cheese matured at least?", "at least ten months", "ten months"),
                    ("What are wheels kept for two years or more sold as?", "Old Marrowbell"),
                    ("Since when has the name been restricted?", "2004", "Since 2004"),
                ],
            ),
            (
                "Cheese has been made in the Tollen Valley since at least 1540, when a tax roll of the abbey of "
                "Saint Maur lists 300 cheeses paid each year by the valley's farms. For centuries the cheese was "
                "made in summer huts on the pastures and carried down on the backs of porters in late September. "
                "The first cooperative dairy opened at the village of Hesk in 1882, so that farmers could pool "
                "their milk and share the cost of a cellar. The cooperative was led for thirty years by Greta "
                "Ambry, who introduced the practice of stamping each wheel with the date it was made.",
                [
                    ("Since when has cheese been made in the Tollen Valley?", "at least 1540", "1540"),
                    ("Which abbey kept the tax roll?", "the abbey of Saint Maur", "Saint Maur"),
                    ("How many cheeses did the farms pay each year?", "300 cheeses", "300"),
                    ("Where was the cheese made for centuries?", "in summer huts on the pastures", "summer huts"),
                    ("How was the cheese carried down?", "on the backs of porters"),
                    ("When was the cheese carried down from the pastures?", "late September", "in late September"),
                    ("Where did the first cooperative dairy open?", "Hesk", "the village of Hesk"),
                    ("When did the first cooperative dairy open?", "1882", "in 1882"),
                    ("Why did farmers form the cooperative?", "so that farmers could pool their milk"),
                    ("Who led the cooperative for thirty years?", "Greta Ambry"),
                    ("How long did Greta Ambry lead the cooperative?", "thirty years"),
                    ("What did Ambry stamp on each wheel?", "the date it was made"),
                ],
            ),
            (
                "Making Marrowbell begins at dawn, when the evening and morning milk are mixed in a copper vat and "
                "warmed to 32 degrees. Rennet from calves is added, and after about forty minutes the milk sets "
                "into a soft curd. The cheesemaker cuts the curd into grains the size of rice with a wire harp, "
                "then heats it slowly to 52 degrees while stirring. The grains are lifted out in a linen cloth, "
                "packed into the bell moulds and pressed for a day. Each young cheese then floats for two days in "
                "a bath of brine before it is carried to the cellar.",
                [
                    ("When does making Marrowbell begin?", "at dawn", "dawn"),
                    ("Which milk is mixed in the vat?", "the evening and morning milk"),
                    ("What is the vat made of?", "copper"),
                    ("To what temperature is the milk first warmed?", "32 degrees"),
                    ("What is added to the milk to set it?", "Rennet from calves", "Rennet"),
                    ("How long does the milk take to set?", "about forty minutes", "forty minutes"),
                    ("How big are the grains the curd is cut into?", "the size of rice"),
                    ("What tool is used to cut the curd?", "a wire harp"),
                    ("To what temperature is the curd heated?", "52 degrees"),
                    ("In what are the grains lifted out?", "a linen cloth", "in a linen cloth"),
                    ("How long is the cheese pressed?", "for a day", "a day"),
                    ("How long does a young cheese float in brine?", "two days", "for two days"),
                ],
            ),
            (
                "The cheeses mature in the Hesk cellars, a network of tunnels cut into the hillside in 1889 where "
                "the air stays at 11 degrees and very damp all year. About 40,000 wheels rest there on spruce "
                "boards. Twice a week each wheel is turned and its rind rubbed with the brine and beer wash, work "
                "that was done by hand until a turning robot was installed in 2017. The cellar master tests the "
                "cheeses by tapping them with a small hammer and listening; a hollow sound warns of a crack inside. "
                "Wheels that fail the test are sold young as grating cheese.",
                [
                    ("Where do the cheeses mature?", "the Hesk cellars", "in the Hesk cellars"),
                    ("When were the tunnels of the cellars cut?", "1889", "in 1889"),
                    ("At what temperature does the cellar air stay?", "11 degrees"),
                    ("How many wheels rest in the cellars?", "About 40,000", "40,000"),
                    ("On what do the wheels rest?", "spruce boards"),
                    ("How often is each wheel turned?", "Twice a week"),
                    ("What was installed in 2017?", "a turning robot"),
                    ("How does the cellar master test the cheeses?", "by tapping them with a small hammer"),
                    ("What does a hollow sound warn of?", "a crack inside"),
                    ("How are wheels that fail the test sold?", "young as grating cheese", "as grating cheese"),
                    ("Until 2017, how was the turning done?", "by hand"),
                ],
            ),
            (
                "Marrowbell has a firm, slightly crumbly paste with small eyes and a nutty, sweet taste that grows "
                "sharper with age. In the valley it is eaten with dark rye bread and pickled walnuts, or melted "
                "over potatoes in a dish called tollen pot. The cooperative now has 64 member farms and produces "
                "about 900 tonnes a year, a third of which is exported, mainly to Osterbeck and Lisvane. A cheese "
                "fair is held in Hesk on the first Sunday of October, when the year's best wheel is chosen by a "
                "jury of twelve and auctioned for charity.",
                [
                    ("What is the texture of Marrowbell's paste?", "firm, slightly crumbly"),
                    ("How does the taste change with age?", "grows sharper with age", "sharper"),
                    ("With what bread is Marrowbell eaten in the valley?", "dark rye bread"),
                    ("What pickle is eaten with the cheese?", "pickled walnuts"),
                    ("What is the dish of cheese melted over potatoes called?", "tollen pot"),
                    ("How many member farms does the cooperative have?", "64"),
                    ("How much cheese does the cooperative produce a year?", "about 900 tonnes", "900 tonnes"),
                    ("What share of the cheese is exported?", "a third", "a third of which"),
                    ("Where is the cheese mainly exported?", "Osterbeck and Lisvane"),
                    ("When is the cheese fair held?", "the first Sunday of October"),
                    ("How many people sit on the jury of the cheese fair?", "twelve"),
                    ("What happens to the year's best wheel?", "auctioned for charity"),
                ],
            ),
        ],
    ),
    (
        "Lake_Orun",
        [
            (
                "Lake Orun is a freshwater lake of 212 square kilometres in the uplands south of Caddow. It fills a "
                "basin scoured by a glacier during the last ice age and reaches a depth of 118 metres near its "
                "western shore. The lake is fed by nine rivers, the largest being the Sella, and drains north "
                "through a single outlet, the River Aldren. Its water is unusually clear: a white disc lowered from "
                "a boat can be seen to a depth of 14 metres in spring. The lake freezes over completely only in "
                "very cold winters, most recently in 1985.",
                [
                    ("How large is Lake Orun?", "212 square kilometres"),
                    ("Where is Lake Orun?", "in the uplands south of Caddow", "the uplands south of Caddow"),
                    ("What scoured the lake's basin?", "a glacier"),
                    ("How deep is Lake Orun at its deepest?", "118 metres"),
                    ("Near which shore is the lake deepest?", "its western shore", "western shore"),
                    ("How many rivers feed the lake?", "nine", "nine rivers"),
                    ("Which is the largest river feeding the lake?", "the Sella", "Sella"),
                    ("In which direction does the lake drain?", "north"),
                    ("What is the lake's outlet?", "the River Aldren", "River Aldren"),
                    ("To what depth can a white disc be seen in spring?", "14 metres"),
                    ("When did the lake last freeze over completely?", "1985", "in 1985"),
                ],
            ),
            (
                "The lake is home to the Orun char, a small fish found nowhere else. It lives in the cold deep "
                "water below 40 metres and rises to spawn on gravel banks in November. The char was first "
                "described in 1853 by the naturalist Petra Lindqvist, who noticed its silver belly and the red "
                "spots along its sides. Its numbers fell sharply in the 1970s, when fertiliser washed in from farms "
                "made the deep water short of oxygen. A hatchery at the village of Keld now raises about 200,000 "
                "young char each year to release into the lake.",
                [
                    ("What fish is found only in Lake Orun?", "the Orun char", "Orun char"),
                    ("Below what depth does the char live?", "below 40 metres", "40 metres"),
                    ("When does the char spawn?", "November", "in November"),
                    ("Where does the char spawn?", "on gravel banks", "gravel banks"),
                    ("When was the char first described?", "1853", "in 1853"),
                    ("Who first described the char?", "Petra Lindqvist", "the naturalist Petra Lindqvist"),
                    ("What colour is the char's belly?", "silver"),
                    ("What marks are along the char's sides?", "the red spots", "red spots"),
                    ("When did the char's numbers fall sharply?", "the 1970s", "in the 1970s"),
                    ("What washed in from farms?", "fertiliser"),
                    ("What was the deep water short of?", "oxygen"),
                    ("Where is the hatchery?", "Keld", "the village of Keld"),
                    ("How many young char does the hatchery raise each year?", "about 200,000", "200,000"),
                ],
            ),
            (
                "Birds gather on Lake Orun in great numbers in winter. The reed beds of the Sella delta shelter "
                "up to 30,000 ducks, among them the rare crested scaup, and a colony of grey herons nests in the "
                "alders of Heron Island. Ospreys returned to breed at the lake in 1996 after an absence of more "
                "than a century, and two pairs now raise young there each summer. The delta was made a nature "
                "reserve in 1971, and boats are not allowed into it between October and March. A hide built on "
                "stilts at the edge of the reeds is open to visitors every day.",
                [
                    ("In which season do birds gather on the lake?", "winter", "in winter"),
                    ("What shelters the ducks?", "The reed beds of the Sella delta", "reed beds"),
                    ("How many ducks can the reed beds shelter?", "up to 30,000"),
                    ("Which rare duck shelters in the delta?", "crested scaup", "the rare crested scaup"),
                    ("Where do the grey herons nest?", "in the alders of Heron Island", "Heron Island"),
                    ("When did ospreys return to breed?", "1996", "in 1996"),
                    ("How long had ospreys been absent?", "more than a century"),
                    ("How many pairs of ospreys breed at the lake?", "two pairs", "two"),
                    ("When was the delta made a nature reserve?", "1971", "in 1971"),
                    ("When are boats not allowed into the delta?", "between October and March"),
                    ("What is the hide built on?", "stilts", "on stilts"),
                    ("When is the hide open to visitors?", "every day"),
                ],
            ),
            (
                "People have lived around Lake Orun for at least 5,000 years. Divers in 1964 found the remains of a "
                "village of wooden houses raised on piles near the present shore at Keld, preserved in the mud "
                "with bone fish hooks, a dugout canoe and baskets of hazelnuts. In the Middle Ages the lake "
                "belonged to the lords of Orunhall, who took one fish in every ten caught by the villagers. Their "
                "castle on a rocky island was abandoned after a fire in 1651; its ruined tower is still a landmark "
                "for sailors and appears on the coat of arms of the district.",
                [
                    ("For how long have people lived around the lake?", "at least 5,000 years", "5,000 years"),
                    ("When did divers find the remains of a village?", "1964", "in 1964"),
                    ("What were the village houses raised on?", "piles", "on piles"),
                    ("Near which village were the remains found?", "Keld"),
                    ("What were the fish hooks made of?", "bone"),
                    ("What kind of boat was found in the mud?", "a dugout canoe", "dugout canoe"),
                    ("What did the baskets contain?", "hazelnuts"),
                    ("Who owned the lake in the Middle Ages?", "the lords of Orunhall"),
                    ("What share of the catch did the lords take?", "one fish in every ten"),
                    ("Where was the lords' castle?", "on a rocky island", "a rocky island"),
                    ("When was the castle abandoned?", "1651", "in 1651"),
                    ("Why was the castle abandoned?", "a fire", "after a fire"),
                    ("Where does the ruined tower appear?", "on the coat of arms of the district"),
                ],
            ),
            (
                "Today Lake Orun supplies drinking water to about 400,000 people, piped 60 kilometres north to "
                "Caddow through a tunnel completed in 1938. To protect the water, motorboats are limited to a speed "
                "of 10 knots and must use electric engines within one kilometre of the intake at Brinn. Sailing "
                "is popular, and the Orun Regatta, first held in 1909, brings several hundred dinghies to the lake "
                "each July. A footpath of 96 kilometres, the Orun Round, follows the whole shore and is usually "
                "walked in five days.",
                [
                    ("How many people does the lake supply with drinking water?", "about 400,000", "400,000"),
                    ("How far is the water piped?", "60 kilometres"),
                    ("When was the water tunnel completed?", "1938", "in 1938"),
                    ("To what speed are motorboats limited?", "10 knots"),
                    ("Where is the water intake?", "Brinn", "at Brinn"),
                    ("What engines must motorboats use near the intake?", "electric engines"),
                    ("When was the Orun Regatta first held?", "1909", "in 1909"),
                    ("In which month is the regatta held?", "July", "each July"),
                    ("What boats does the regatta bring to the lake?", "several hundred dinghies", "dinghies"),
                    ("How long is the footpath around the lake?", "96 kilometres"),
                    ("What is the footpath around the lake called?", "the Orun Round", "Orun Round"),
                    ("In how many days is the footpath usually walked?", "five days", "in five days"),
                ],
            ),
        ],
    ),
]


# --------------------------------------------------------------------------- the gazetteer of villages
# Invented word lists; every village's facts are picked from them by a hash of the village's name, so the
# output never changes between runs or Python versions.
GAZETTEER_VILLAGES = 28
_NAME_HEADS = (
    "Ash", "Bel", "Cor", "Dun", "Eld", "Fen", "Gar", "Hal", "Ivel", "Kel", "Lorn", "Mar",
    "Nor", "Orr", "Pell", "Quen", "Rav", "Sel", "Tarn", "Wyn", "Brack", "Cul",
)  # fmt: skip
_NAME_TAILS = ("by", "ford", "mere", "wick", "stead", "holm", "dale", "combe", "thorpe", "ley")
_KINDS = ("village", "market village", "hill village", "river village")
_VALLEYS = ("Sallow", "Tember", "Hask", "Ormond", "Brisk", "Lune", "Carrow", "Whinn", "Dapple", "Yarrow")
_RIVERS = ("Ebb", "Tolley", "Marr", "Kestle", "Onne", "Skell", "Brede", "Avel", "Riss", "Coom")
_BANKS = ("left", "right")
_FOUNDERS = (
    "Aldous Penhallow", "Berit Ostrand", "Cuthbert Vane", "Dagny Marsh", "Elric Tolland", "Freya Ambry",
    "Gideon Harrow", "Hester Quill", "Ivo Brannock", "Jessamy Crane", "Lorcan Thwaite", "Mirren Foss",
)  # fmt: skip
_TRADES = ("miller", "wool merchant", "blacksmith", "priest", "stonemason", "drover")
_ORIGINS = ("Ardhaven", "Lisvane", "Caddow", "Brinn", "Hollin Fell", "Quarrington")
_MEANINGS = (
    "the ford of the alders", "the meadow by the spring", "the hill of the crows", "the farm of the smith",
    "the bend in the river", "the clearing of the bees", "the willow island", "the stony field",
)  # fmt: skip
_SAINTS = ("Aelred", "Brigid", "Columba", "Dunstan", "Edith", "Finnian", "Gwen", "Hilda")
_PRODUCTS = ("slate", "flax", "hops", "cider apples", "peat", "tallow candles", "barley", "wool")
_FAMILIES = ("Ormsby", "Pascoe", "Rendle", "Stott", "Trevail", "Uttley", "Wragg", "Yelland")
_WORKS = ("tannery", "rope walk", "brick kiln", "paper mill", "brewery", "dye works")
_STREETS = ("Mill Lane", "Chapel Row", "Water Street", "Kiln Yard", "Bridge End", "Tenter Street")
_EMPLOYERS = (
    "a bakery that supplies the whole valley", "a small boatyard", "a veterinary clinic",
    "a printing works for seed catalogues", "a dairy cooperative", "a clockmaker's workshop",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_SQUARES = ("the Cross Square", "the Horse Fair", "the Shambles", "the Green", "the Butter Cross")
_MONTHS = ("March", "April", "May", "June", "August", "September", "October")
_FESTIVALS = ("Lantern Walk", "Barrel Race", "Bell Fair", "Straw Wake", "Cheese Roll", "Apple Moot")
_SEASONS = ("hay", "grain", "apple", "flax", "hop")
_CARRIED = ("a full barrel of cider", "a bale of straw", "a wooden bell", "a millstone on a cart", "a rowing boat")
_LANDMARKS = ("old toll bridge", "holy well", "standing stone", "pound gate", "water mill")
_RIVAL_VILLAGES = ("Upper Dreel", "Saltcote", "Hob's End", "Ferrow", "Kilnsea Cross")
_BUILDINGS = ("school house", "corn exchange", "tithe barn", "lock keeper's cottage", "court house")
_EXHIBITS = (
    "a carved oak plough",
    "a set of brass weights",
    "a painted sedan chair",
    "a stuffed otter",
    "a fire engine",
)
_LINES = (("Ardhaven", "Lisvane"), ("Caddow", "Brinn"), ("Quarrington", "Ardhaven"), ("Lisvane", "Caddow"))
_ENGINEERS = ("Tamsin Lowe", "Rufus Cardew", "Oona Pryke", "Silas Venn", "Wilhelmina Stroud")


def _pick(name: str, what: str, options: tuple[Any, ...]) -> Any:
    """One of ``options``, chosen by a hash of the village and the fact (deterministic everywhere)."""
    return options[int(hashlib.sha256(f"{name}/{what}".encode()).hexdigest(), 16) % len(options)]


def _number(name: str, what: str, low: int, high: int) -> int:
    return low + int(hashlib.sha256(f"{name}/{what}".encode()).hexdigest(), 16) % (high - low + 1)


def _village_names() -> list[str]:
    names: list[str] = []
    for index in range(GAZETTEER_VILLAGES):
        head = _NAME_HEADS[index % len(_NAME_HEADS)]
        tail = _NAME_TAILS[(index * 3 + index // len(_NAME_HEADS)) % len(_NAME_TAILS)]
        names.append(head + tail)
    if len(set(names)) != len(names):
        raise ValueError(f"the gazetteer repeats a village name: {sorted(names)}")
    return names


def gazetteer_article(name: str) -> tuple[str, list[tuple[str, list[tuple[str, ...]]]]]:
    """Four paragraphs about one invented village (history, trade, festival, railway), 28 questions."""
    kind, valley, river = _pick(name, "kind", _KINDS), _pick(name, "valley", _VALLEYS), _pick(name, "river", _RIVERS)
    bank, founder, trade = _pick(name, "bank", _BANKS), _pick(name, "founder", _FOUNDERS), _pick(name, "trade", _TRADES)
    origin, meaning, saint = (
        _pick(name, "origin", _ORIGINS),
        _pick(name, "meaning", _MEANINGS),
        _pick(name, "saint", _SAINTS),
    )
    founded, consecrated = _number(name, "founded", 1100, 1299), _number(name, "consecrated", 1300, 1499)
    tower, census_year = _number(name, "tower", 18, 46), _number(name, "census", 1841, 1901)
    inhabitants = f"{_number(name, 'inhabitants', 310, 4800):,}"
    history = (
        f"{name} is a {kind} in the {valley} valley, on the {bank} bank of the River {river}. It was founded in "
        f"{founded} by {founder}, a {trade} from {origin}, who built the first houses beside the ford. The name is "
        f"said to come from an old word meaning {meaning}. The parish church of Saint {saint} was consecrated in "
        f"{consecrated}, and its bell tower is {tower} metres tall. At the census of {census_year} the {kind} had "
        f"{inhabitants} inhabitants."
    )
    history_questions: list[tuple[str, ...]] = [
        (f"In which valley does {name} lie?", f"the {valley} valley", f"{valley} valley"),
        (f"On which river does {name} stand?", f"the River {river}", f"River {river}"),
        (f"On which bank of the river is {name}?", f"{bank} bank", f"the {bank} bank"),
        (f"Who founded {name}?", founder),
        (f"In what year was {name} founded?", str(founded)),
        (f"What was the trade of the founder of {name}?", trade, f"a {trade}"),
        (f"Where did the founder of {name} come from?", origin),
        (f"What does the name {name} mean?", meaning),
        (f"To which saint is the parish church of {name} dedicated?", f"Saint {saint}", saint),
        (f"How tall is the bell tower of the church in {name}?", f"{tower} metres"),
        (f"How many inhabitants did {name} have at the census of {census_year}?", inhabitants),
    ]
    product, family, works = (
        _pick(name, "product", _PRODUCTS),
        _pick(name, "family", _FAMILIES),
        _pick(name, "works", _WORKS),
    )
    street, employer = _pick(name, "street", _STREETS), _pick(name, "employer", _EMPLOYERS)
    weekday, square = _pick(name, "weekday", _WEEKDAYS), _pick(name, "square", _SQUARES)
    opened, closed, workers = (
        _number(name, "opened", 1760, 1849),
        _number(name, "closed", 1921, 1979),
        _number(name, "workers", 40, 260),
    )
    trade_text = (
        f"For most of its history {name} lived from {product}. In {opened} the {family} family opened a {works} on "
        f"{street}, which at its peak employed {workers} people. The {works} closed in {closed} after a fire "
        f"destroyed its drying sheds. Today the largest employer is {employer}, and a market is held every "
        f"{weekday} on {square}."
    )
    trade_questions: list[tuple[str, ...]] = [
        (f"What did {name} live from for most of its history?", product),
        (f"Which family opened a {works} in {name}?", f"the {family} family", family),
        (f"On which street was the {works} of {name}?", street),
        (f"When did the {family} family open their {works}?", str(opened)),
        (f"How many people did the {works} in {name} employ at its peak?", str(workers)),
        (f"In what year did the {works} in {name} close?", str(closed)),
        (f"Why did the {works} in {name} close?", "a fire destroyed its drying sheds"),
        (f"What is the largest employer in {name} today?", employer),
        (f"On which day is the market of {name} held?", weekday, f"every {weekday}"),
    ]
    month, festival, season = (
        _pick(name, "month", _MONTHS),
        _pick(name, "festival", _FESTIVALS),
        _pick(name, "season", _SEASONS),
    )
    carried, landmark, rival = (
        _pick(name, "carried", _CARRIED),
        _pick(name, "landmark", _LANDMARKS),
        _pick(name, "rival", _RIVAL_VILLAGES),
    )
    building, exhibit = _pick(name, "building", _BUILDINGS), _pick(name, "exhibit", _EXHIBITS)
    began, record, record_year = (
        _number(name, "began", 1610, 1890),
        _number(name, "record", 7, 29),
        _number(name, "record year", 1952, 2019),
    )
    festival_text = (
        f"Every {month} the people of {name} hold the {festival}, which began in {began} to mark the end of the "
        f"{season} harvest. Its highlight is a race in which teams carry {carried} from the {landmark} to the "
        f"church door. The record of {record} minutes was set in {record_year} by a team from {rival}. A small "
        f"museum in the old {building} keeps {exhibit} that is said to have belonged to the founder."
    )
    festival_questions: list[tuple[str, ...]] = [
        (f"In which month is the {festival} of {name} held?", month, f"Every {month}"),
        (f"When did the {festival} of {name} begin?", str(began), f"in {began}"),
        (f"Which harvest does the {festival} of {name} mark the end of?", f"the {season} harvest", f"{season} harvest"),
        (f"What do the teams in the race at {name} carry?", carried),
        (f"Where does the race at {name} start?", f"the {landmark}", f"{landmark}"),
        (f"What is the record time for the race at {name}?", f"{record} minutes"),
        (f"Where did the team that set the race record at {name} come from?", rival),
        (f"In which building is the museum of {name}?", f"the old {building}", f"old {building}"),
    ]
    line_from, line_to = _pick(name, "line", _LINES)
    engineer, station_year = _pick(name, "engineer", _ENGINEERS), _number(name, "station", 1852, 1899)
    arches, last_train = _number(name, "arches", 5, 17), _number(name, "last train", 1958, 1971)
    railway_text = (
        f"A railway station opened at {name} in {station_year} on the branch line from {line_from} to {line_to}. "
        f"The line crosses the River {river} on a viaduct of {arches} arches designed by {engineer}. Passenger "
        f"trains stopped running in {last_train}, and the old track bed is now a cycle path."
    )
    railway_questions: list[tuple[str, ...]] = [
        (f"When did the railway station at {name} open?", str(station_year), f"in {station_year}"),
        (f"Between which towns did the branch line through {name} run?", f"{line_from} to {line_to}"),
        (f"How many arches does the viaduct near {name} have?", str(arches), f"{arches} arches"),
        (f"Who designed the viaduct near {name}?", engineer),
        (f"When did passenger trains stop running at {name}?", str(last_train), f"in {last_train}"),
        (f"What is the old track bed at {name} used for now?", "a cycle path"),
    ]
    return name, [
        (history, history_questions),
        (trade_text, trade_questions),
        (festival_text, festival_questions),
        (railway_text, railway_questions),
    ]


def gazetteer_articles() -> list[tuple[str, list[tuple[str, list[tuple[str, ...]]]]]]:
    """Every village of the gazetteer, in a fixed order."""
    return [gazetteer_article(name) for name in _village_names()]


def all_articles() -> list[tuple[str, list[tuple[str, list[tuple[str, ...]]]]]]:
    """The hand-written articles, then the gazetteer."""
    return ARTICLES + gazetteer_articles()


# Deliberately flawed questions: (title, paragraph index, question fields). Each is appended to that
# paragraph's questions; the comment says what the dataset refresh does with it. An "answers" entry is a
# list of answer texts (their answer_start is looked up in the paragraph, -1 when absent); "id" defaults
# to a hash like every other question's. Keep them few: the sample must stay far below the refresh's
# default 5 % reject limit (4 rejects of 1,266 records here).
FLAWED_QUESTIONS: list[tuple[str, int, dict[str, Any]]] = [
    # rejected, answer_not_in_context: the annotator typed a fact the paragraph does not state.
    ("Lake_Orun", 0, {"question": "How deep is Lake Orun at its deepest point?", "answers": ["212 metres"]}),
    # rejected, empty_field: the question was left blank.
    ("Aldren_Line", 0, {"question": "  ", "answers": ["Harriet Quayle"]}),
    # rejected, missing_field: no answer was ever marked, so the record has no "answers".
    ("Quillfeather_Observatory", 0, {"question": "Who first looked through the observatory's telescope?"}),
    # rejected, wrong_type: an export tool wrote the id as a number.
    (
        "Marrowbell_cheese",
        0,
        {"id": 4711, "question": "How heavy is a whole Marrowbell?", "answers": ["between 11 and 14 kilograms"]},
    ),
    # dropped as duplicates: questions already asked about the same paragraph, with other case and spacing.
    ("Vellmoor", 0, {"question": "how many members does the Town  Council have?", "answers": ["fifteen"]}),
    ("Vellmoor", 1, {"question": "What fish did the economy of\nVellmoor depend on? ", "answers": ["herring"]}),
]


def flawed_qas(title: str, paragraph_index: int, context: str) -> list[dict[str, Any]]:
    """The SQuAD question objects of :data:`FLAWED_QUESTIONS` that belong to this paragraph."""
    qas = []
    for flawed_title, flawed_index, fields in FLAWED_QUESTIONS:
        if (flawed_title, flawed_index) != (title, paragraph_index):
            continue
        qa: dict[str, Any] = {
            "id": hashlib.sha256(f"{title}\nflawed\n{fields['question']}".encode()).hexdigest()[:24],
            **fields,
        }
        if "answers" in fields:
            qa["answers"] = [{"text": text, "answer_start": context.find(text)} for text in fields["answers"]]
        qas.append(qa)
    return qas


def reference_answers(context: str, answers: tuple[str, ...], key: str) -> list[dict[str, object]]:
    """2-4 reference answers: the given ones, the span with a neighbouring article or preposition, and
    repeats of the first (annotators often agree), as SQuAD ``{"text", "answer_start"}`` objects."""
    texts: list[str] = []
    for answer in answers:
        if answer not in texts:
            texts.append(answer)
    first = answers[0]
    start = context.find(first)
    before = context[:start].rstrip().rsplit(" ", 1)[-1] if start > 0 else ""
    if before.lower() in _LEADING_WORDS and context[start - 1] == " ":
        texts.append(f"{before} {first}")
    head, _, rest = first.partition(" ")
    if head.lower() in ("the", "a", "an") and rest:
        texts.append(rest)
    wanted = 2 + int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3
    unique: list[str] = []
    for text in texts:
        if text not in unique:
            unique.append(text)
    chosen = unique[:wanted]
    while len(chosen) < wanted:
        chosen.append(first)
    references = []
    for text in chosen:
        offset = context.find(text)
        if offset < 0:
            raise ValueError(f"answer {text!r} is not in its paragraph: {context[:60]!r}…")
        references.append({"text": text, "answer_start": offset})
    return references


def build() -> dict[str, Any]:
    """The SQuAD v1.1 document."""
    data = []
    for title, paragraphs in all_articles():
        squad_paragraphs = []
        for paragraph_index, (context, questions) in enumerate(paragraphs):
            qas = []
            for question, *answers in questions:
                key = f"{title}\n{question}"
                qas.append(
                    {
                        "id": hashlib.sha256(key.encode()).hexdigest()[:24],
                        "question": question,
                        "answers": reference_answers(context, tuple(answers), key),
                    }
                )
            qas += flawed_qas(title, paragraph_index, context)
            squad_paragraphs.append({"context": context, "qas": qas})
        data.append({"title": title, "paragraphs": squad_paragraphs})
    return {"version": "1.1", "data": data}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    document = build()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    articles = all_articles()
    questions = sum(len(questions) for _, paragraphs in articles for _, questions in paragraphs)
    print(
        f"wrote {args.output}: {len(articles)} articles, {questions} questions "
        f"and {len(FLAWED_QUESTIONS)} deliberately flawed ones"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
