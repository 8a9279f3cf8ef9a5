package dev.tract.judge.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A judge task where the gold score is a deterministic function of the input and a step-by-step feedback makes it
 * easy: the response lists four items, the rubric asks how many satisfy a property, and the feedback checks each
 * item before counting. Score = 1 + the number of items that satisfy it, balanced over 1-5. Six variants (even
 * numbers, numbers above a threshold, words with a first letter, red fruits, capital cities, long words) so that
 * it is not one template. Without feedback a small model has to count in one step, which is hard.
 */
final class RecallTask {
    static final int ITEMS = 4;
    private static final String[] LABELS = {"a)", "b)", "c)", "d)"};
    private static final String[] COUNT = {"None of the four", "One of the four", "Two of the four",
        "Three of the four", "All four"};
    private static final String[][] FRUITS = {
        {"apple", "red"}, {"cherry", "red"}, {"strawberry", "red"}, {"raspberry", "red"}, {"pomegranate", "red"},
        {"cranberry", "red"}, {"watermelon", "red"}, {"banana", "yellow"}, {"lemon", "yellow"}, {"pineapple",
            "yellow"}, {"mango", "orange"}, {"orange", "orange"}, {"apricot", "orange"}, {"kiwi", "green"},
        {"lime", "green"}, {"pear", "green"}, {"grape", "purple"}, {"plum", "purple"}, {"blueberry", "blue"},
        {"coconut", "brown"}};
    private static final String[][] CAPITALS = {
        {"France", "Paris"}, {"Italy", "Rome"}, {"Spain", "Madrid"}, {"Germany", "Berlin"}, {"Japan", "Tokyo"},
        {"Canada", "Ottawa"}, {"Egypt", "Cairo"}, {"Kenya", "Nairobi"}, {"Peru", "Lima"}, {"Norway", "Oslo"},
        {"Greece", "Athens"}, {"Poland", "Warsaw"}, {"Chile", "Santiago"}, {"India", "New Delhi"},
        {"China", "Beijing"}, {"Russia", "Moscow"}, {"Brazil", "Brasilia"}, {"Australia", "Canberra"},
        {"Turkey", "Ankara"}, {"Portugal", "Lisbon"}};
    private static final String[] WRONG_CITIES = {"Munich", "Milan", "Barcelona", "Lyon", "Osaka", "Toronto",
        "Sydney", "Istanbul", "Mumbai", "Shanghai", "Porto", "Krakow", "Alexandria", "Rio", "Bergen", "Cusco"};
    private static final String[] WORDS = {"apple", "bread", "chair", "dance", "eagle", "flame", "grape", "house",
        "island", "jacket", "kite", "lemon", "mountain", "night", "ocean", "pencil", "queen", "river", "stone",
        "table", "umbrella", "valley", "window", "yellow", "zebra", "bottle", "basket", "button", "cloud", "candle",
        "cotton", "desert", "dragon", "forest", "garden", "hammer", "ladder", "market", "mirror", "planet", "rabbit",
        "silver", "spider", "tiger", "tower", "violin", "wagon", "winter", "sun", "cat", "dog", "map", "pen", "cup",
        "bee", "owl", "fox", "hat", "box", "key", "sky", "tree", "boat", "book", "bird", "lamp", "moon", "rain",
        "ship", "star", "wolf", "frog", "fish", "corn", "door", "leaf", "milk", "rose", "salt", "snow"};

    private RecallTask() {}

    /** n examples for a seed; the same (n, seed) always gives the same file. */
    static List<JudgeExample> generate(int n, long seed) {
        Random rnd = new Random(seed);
        List<JudgeExample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int score = 1 + (i % 5);
            int variant = rnd.nextInt(6);
            out.add(example(String.format("recall-%d-%05d", seed, i), variant, score - 1, rnd));
        }
        Collections.shuffle(out, rnd);
        return out;
    }

    private static boolean[] pattern(int good, Random rnd) {
        boolean[] p = new boolean[ITEMS];
        List<Integer> slots = new ArrayList<>(List.of(0, 1, 2, 3));
        Collections.shuffle(slots, rnd);
        for (int j = 0; j < good; j++) {
            p[slots.get(j)] = true;
        }
        return p;
    }

    private static JudgeExample example(String id, int variant, int good, Random rnd) {
        boolean[] ok = pattern(good, rnd);
        List<String> items = new ArrayList<>();
        List<String> checks = new ArrayList<>();
        List<String> reference = new ArrayList<>();
        String instruction;
        String property;
        String criteria;
        String separator = ", ";
        // separator: how the reference answer joins its items
        switch (variant) {
            case 0 -> {
                instruction = "List four even numbers.";
                property = "are even";
                criteria = "How many of the listed numbers are even?";
                for (int j = 0; j < ITEMS; j++) {
                    int v = 2 * (1 + rnd.nextInt(49)) + (ok[j] ? 0 : 1);
                    items.add(String.valueOf(v));
                    checks.add(v + (ok[j] ? " is even." : " is odd."));
                    reference.add(String.valueOf(2 * (j + 3)));
                }
            }
            case 1 -> {
                int t = 10 * (2 + rnd.nextInt(7));
                instruction = "Give four numbers greater than " + t + ".";
                property = "are greater than " + t;
                criteria = "How many of the listed numbers are greater than " + t + "?";
                for (int j = 0; j < ITEMS; j++) {
                    int v = ok[j] ? t + 1 + rnd.nextInt(99 - t) : 1 + rnd.nextInt(t);
                    items.add(String.valueOf(v));
                    checks.add(v + (ok[j] ? " is greater than " : " is not greater than ") + t + ".");
                    reference.add(String.valueOf(t + 1 + j * 3));
                }
            }
            case 2 -> {
                String letter = WORDS[rnd.nextInt(WORDS.length)].substring(0, 1);
                List<String> yes = new ArrayList<>();
                List<String> no = new ArrayList<>();
                for (String w : WORDS) {
                    (w.startsWith(letter) ? yes : no).add(w);
                }
                instruction = "Name four words that start with the letter " + letter + ".";
                property = "start with " + letter;
                criteria = "How many of the listed words start with the letter " + letter + "?";
                for (int j = 0; j < ITEMS; j++) {
                    String w = ok[j] ? yes.get(rnd.nextInt(yes.size())) : no.get(rnd.nextInt(no.size()));
                    items.add(w);
                    checks.add(w + (ok[j] ? " starts with " : " does not start with ") + letter + ".");
                    reference.add(yes.get(j % yes.size()));
                }
            }
            case 3 -> {
                instruction = "Name four fruits that are red.";
                property = "are red";
                criteria = "How many of the listed fruits are red?";
                List<String[]> red = new ArrayList<>();
                List<String[]> other = new ArrayList<>();
                for (String[] f : FRUITS) {
                    (f[1].equals("red") ? red : other).add(f);
                }
                for (int j = 0; j < ITEMS; j++) {
                    String[] f = ok[j] ? red.get(rnd.nextInt(red.size())) : other.get(rnd.nextInt(other.size()));
                    items.add(f[0]);
                    checks.add(ok[j] ? f[0] + " is red." : f[0] + " is " + f[1] + ", not red.");
                    reference.add(red.get(j)[0]);
                }
            }
            case 4 -> {
                List<String[]> countries = new ArrayList<>(List.of(CAPITALS));
                Collections.shuffle(countries, rnd);
                instruction = "Give the capital cities of " + countries.get(0)[0] + ", " + countries.get(1)[0] + ", "
                        + countries.get(2)[0] + " and " + countries.get(3)[0] + ".";
                property = "are correct";
                criteria = "How many of the capital cities are correct?";
                separator = ". ";
                for (int j = 0; j < ITEMS; j++) {
                    String[] c = countries.get(j);
                    String city = ok[j] ? c[1] : WRONG_CITIES[rnd.nextInt(WRONG_CITIES.length)];
                    items.add(c[0] + ": " + city);
                    checks.add(ok[j] ? c[0] + ": " + city + " is correct."
                            : c[0] + ": " + city + " is wrong, the capital is " + c[1] + ".");
                    reference.add(c[0] + ": " + c[1]);
                }
            }
            default -> {
                instruction = "Name four words with more than five letters.";
                property = "have more than five letters";
                criteria = "How many of the listed words have more than five letters?";
                List<String> yes = new ArrayList<>();
                List<String> no = new ArrayList<>();
                for (String w : WORDS) {
                    (w.length() > 5 ? yes : no).add(w);
                }
                for (int j = 0; j < ITEMS; j++) {
                    String w = ok[j] ? yes.get(rnd.nextInt(yes.size())) : no.get(rnd.nextInt(no.size()));
                    items.add(w);
                    checks.add(w + " has " + w.length() + " letters.");
                    reference.add(yes.get(j));
                }
            }
        }
        // items carry the labels a) to d), which the feedback repeats: an anchor for copying each item
        List<String> labelled = new ArrayList<>();
        List<String> labelledChecks = new ArrayList<>();
        for (int j = 0; j < ITEMS; j++) {
            labelled.add(LABELS[j] + " " + items.get(j));
            labelledChecks.add(LABELS[j] + " " + checks.get(j));
        }
        String response = String.join("; ", labelled) + ".";
        String feedback = "Check each item. " + String.join(" ", labelledChecks) + " " + COUNT[good] + " "
                + property + ".";
        List<String> desc = new ArrayList<>();
        for (int k = 1; k <= 5; k++) {
            desc.add(COUNT[k - 1] + " " + property + ".");
        }
        return new JudgeExample(id, instruction, response,
                String.join(separator, reference) + (separator.equals(". ") ? "." : ""),
                new Rubric(criteria, desc), List.of(feedback), List.of((double) (good + 1)));
    }
}
