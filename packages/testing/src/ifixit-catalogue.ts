/**
 * Compact authoring form of an iFixit guide. `buildIfixitGuide` / `buildIfixitGuideSummary`
 * expand it into the full API 2.0 payloads, so tests state only what they assert on.
 */
export interface IfixitLineSeed {
  text: string;
  /** iFixit bullet colours/icons: black, red, orange, yellow, …, icon_note, icon_caution, icon_reminder. */
  bullet?: string;
  /** Indentation 0–2. */
  level?: number;
}

export interface IfixitStepSeed {
  /** Real guides often leave step titles empty; keep some empty so clients cope. */
  title: string;
  lines: Array<string | IfixitLineSeed>;
  /** Number of images attached (default 1, max 3 like the iFixit UI). */
  images?: number;
}

export interface IfixitItemSeed {
  text: string;
  url?: string;
  quantity?: number;
  isoptional?: boolean;
}

export interface IfixitGuideSeed {
  guideid: number;
  title: string;
  /** The device (iFixit category wiki title), e.g. `iPhone 12`. */
  category: string;
  /** The component, e.g. `Screen`. */
  subject: string;
  type:
    | 'replacement'
    | 'repair'
    | 'disassembly'
    | 'installation'
    | 'technique'
    | 'teardown'
    | 'maintenance'
    | (string & {});
  difficulty: 'Very easy' | 'Easy' | 'Moderate' | 'Difficult' | 'Very difficult';
  /** Pretty string as the API gives it, e.g. `1 - 2 hours`. */
  timeRequired: string;
  /** Seconds. */
  timeRequiredMin: number;
  /** Seconds. */
  timeRequiredMax: number;
  summary: string;
  introduction: string;
  conclusion?: string;
  tools: Array<string | IfixitItemSeed>;
  parts: Array<string | IfixitItemSeed>;
  steps: IfixitStepSeed[];
  /** Extra words the fake search matches on (symptoms, nicknames). Not part of the API payload. */
  keywords?: string[];
}

const iphone12Screen: IfixitGuideSeed = {
  guideid: 139184,
  title: 'iPhone 12 Screen Replacement',
  category: 'iPhone 12',
  subject: 'Screen',
  type: 'replacement',
  difficulty: 'Moderate',
  timeRequired: '1 - 2 hours',
  timeRequiredMin: 3600,
  timeRequiredMax: 7200,
  summary: 'Use this guide to replace a cracked or malfunctioning screen on your iPhone 12.',
  introduction:
    'Use this guide to replace a cracked or broken screen on your iPhone 12. The front-facing camera and earpiece speaker stay attached to the old screen, so you will transfer them.\n\nIf your display is not responding to touch, or shows lines or dead pixels, replacing the screen usually fixes it.',
  conclusion: 'To reassemble your device, follow these instructions in reverse order.',
  tools: [
    {
      text: 'P2 Pentalobe Screwdriver iPhone',
      url: 'https://www.ifixit.com/products/p2-pentalobe-screwdriver-iphone',
    },
    { text: 'iOpener', url: 'https://www.ifixit.com/products/iopener' },
    'Suction Handle',
    'Spudger',
    'Tri-point Y000 Screwdriver',
    'Tweezers',
  ],
  parts: [
    { text: 'iPhone 12/12 Pro Screen', url: 'https://www.ifixit.com/products/iphone-12-12-pro-screen' },
    {
      text: 'iPhone 12 Display Adhesive',
      url: 'https://www.ifixit.com/products/iphone-12-display-adhesive',
      isoptional: true,
    },
  ],
  steps: [
    {
      title: 'Power off your iPhone',
      lines: [
        'Unplug all cables from your phone.',
        'Hold the side button and either volume button and slide to power off your iPhone.',
        {
          text: 'Discharge the battery below 25% first to reduce the risk of thermal events.',
          bullet: 'icon_caution',
        },
      ],
    },
    {
      title: 'Remove the pentalobe screws',
      lines: [
        'Remove the two 6.75 mm-long pentalobe screws on either side of the Lightning port.',
        {
          text: 'Keep track of each screw and make sure it goes back exactly where it came from.',
          bullet: 'icon_note',
          level: 1,
        },
      ],
    },
    {
      title: 'Heat the lower edge',
      lines: [
        'Apply a heated iOpener to the lower edge of the iPhone for about two minutes to soften the adhesive.',
      ],
    },
    {
      title: '',
      lines: [
        'Apply a suction handle to the lower half of the front panel, just above the bottom edge.',
        'Pull up on the handle with firm, constant pressure to create a small gap.',
        { text: 'Insert an opening pick into the gap.', level: 1 },
      ],
      images: 3,
    },
    {
      title: 'Disconnect the battery',
      lines: [
        'Use a Y000 driver to remove the three screws securing the battery connector bracket.',
        'Use the point of a spudger to pry the battery connector out of its socket.',
      ],
    },
    {
      title: 'Remove the display',
      lines: ['Disconnect the display and front sensor cables, then lift the display away.'],
      images: 2,
    },
  ],
  keywords: ['display', 'cracked', 'broken', 'glass', 'digitizer', 'touch', 'lcd', 'oled'],
};

const iphone12Battery: IfixitGuideSeed = {
  guideid: 137902,
  title: 'iPhone 12 Battery Replacement',
  category: 'iPhone 12',
  subject: 'Battery',
  type: 'replacement',
  difficulty: 'Moderate',
  timeRequired: '1 - 2 hours',
  timeRequiredMin: 3600,
  timeRequiredMax: 7200,
  summary: 'Use this guide to replace a worn-out or dead battery in your iPhone 12.',
  introduction:
    'Use this guide to remove and replace a worn-out or dead battery in your iPhone 12. If your battery is swollen, take appropriate precautions.',
  tools: [
    'P2 Pentalobe Screwdriver iPhone',
    'iOpener',
    'Tri-point Y000 Screwdriver',
    'Spudger',
    'Plastic Card',
  ],
  parts: [
    {
      text: 'iPhone 12/12 Pro Battery',
      url: 'https://www.ifixit.com/products/iphone-12-12-pro-replacement-battery',
    },
  ],
  steps: [
    { title: 'Power off your iPhone', lines: ['Power off your iPhone before you begin disassembly.'] },
    {
      title: 'Open the phone',
      lines: ['Remove the pentalobe screws and open the display as in the screen guide.'],
    },
    {
      title: 'Pull the adhesive strips',
      lines: [
        'Slowly pull one battery adhesive tab away from the battery, toward the bottom of the iPhone.',
        { text: 'Pull at a low angle so the strip does not snag.', bullet: 'icon_reminder', level: 1 },
      ],
    },
    { title: 'Remove the battery', lines: ['Lift the battery out of the iPhone.'] },
  ],
  keywords: ['drain', 'dies', 'swollen', 'charge', 'health'],
};

const ps5Hdmi: IfixitGuideSeed = {
  guideid: 143570,
  title: 'PlayStation 5 HDMI Port Replacement',
  category: 'PlayStation 5',
  subject: 'HDMI Port',
  type: 'replacement',
  difficulty: 'Very difficult',
  timeRequired: '2 - 3 hours',
  timeRequiredMin: 7200,
  timeRequiredMax: 10800,
  summary: 'Replace a damaged HDMI port on the PlayStation 5 by desoldering it from the motherboard.',
  introduction:
    'If your PS5 shows no signal on the TV, or the HDMI cable feels loose in the port, the HDMI port may have bent or broken pins. This repair requires microsoldering.',
  conclusion: 'Reassemble the console and test video output on a known-good cable and TV.',
  tools: [
    'Phillips #1 Screwdriver',
    'Hot Air Rework Station',
    'Soldering Iron',
    'Flux',
    { text: 'Desoldering Braid', quantity: 1, isoptional: true },
    'Tweezers',
  ],
  parts: [
    { text: 'PlayStation 5 HDMI Port', url: 'https://www.ifixit.com/products/playstation-5-hdmi-port' },
  ],
  steps: [
    {
      title: 'Remove the stand and side panels',
      lines: ['Lay the console flat and lift the white side panels off by their corners.'],
    },
    {
      title: 'Remove the rear cover',
      lines: ['Remove the screws securing the rear cover, then lift it away.'],
    },
    {
      title: 'Remove the motherboard',
      lines: [
        'Disconnect the fan, power supply and optical drive cables.',
        {
          text: 'Liquid metal is used as thermal compound — do not let it contact other components.',
          bullet: 'red',
        },
      ],
      images: 3,
    },
    {
      title: 'Desolder the HDMI port',
      lines: [
        'Apply flux to all pins and the shield tabs.',
        'Heat with hot air at about 400 °C and lift the port with tweezers.',
      ],
    },
    { title: 'Solder the new port', lines: ['Clean the pads, align the new port and reflow every pin.'] },
  ],
  keywords: ['ps5', 'hdmi', 'video', 'signal', 'no', 'display', 'console', 'sony'],
};

const macbookBattery: IfixitGuideSeed = {
  guideid: 142335,
  title: 'MacBook Air 13" Late 2020 Battery Replacement',
  category: 'MacBook Air 13" Late 2020',
  subject: 'Battery',
  type: 'replacement',
  difficulty: 'Moderate',
  timeRequired: '1 - 2 hours',
  timeRequiredMin: 3600,
  timeRequiredMax: 7200,
  summary: 'Replace the battery in an M1 MacBook Air that no longer holds a charge.',
  introduction:
    'Use this guide to replace a worn-out battery in your MacBook Air 13" (M1, 2020). Adhesive remover makes the job much easier.',
  tools: [
    'P5 Pentalobe Screwdriver Retina MacBook Pro and Air',
    'T5 Torx Screwdriver',
    'Spudger',
    'Plastic Cards',
    'Adhesive Remover',
  ],
  parts: [
    {
      text: 'MacBook Air 13" (A2337, Late 2020) Battery',
      url: 'https://www.ifixit.com/products/macbook-air-13-a2337-battery',
    },
  ],
  steps: [
    {
      title: 'Remove the lower case',
      lines: ['Remove the ten P5 pentalobe screws securing the lower case.'],
    },
    {
      title: 'Disconnect the battery',
      lines: ['Peel back the tape and lift the battery connector straight up.'],
    },
    {
      title: 'Remove the trackpad cable bracket',
      lines: [
        'Remove the two T5 screws and the bracket.',
        { text: 'The trackpad cable is fragile.', bullet: 'icon_caution', level: 1 },
      ],
    },
    { title: '', lines: ['Apply adhesive remover under each battery cell and wait a minute.'], images: 2 },
    {
      title: 'Remove the battery',
      lines: ['Use a plastic card to pry up the cells and remove the battery.'],
    },
  ],
  keywords: ['macbook', 'm1', 'air', 'laptop', 'charge', 'swollen', 'apple'],
};

const joyconJoystick: IfixitGuideSeed = {
  guideid: 103745,
  title: 'Nintendo Switch Joy-Con Joystick Replacement',
  category: 'Nintendo Switch',
  subject: 'Joystick',
  type: 'replacement',
  difficulty: 'Moderate',
  timeRequired: '15 - 30 minutes',
  timeRequiredMin: 900,
  timeRequiredMax: 1800,
  summary: 'Fix Joy-Con drift by replacing the analog joystick.',
  introduction:
    'If your character moves on its own (“Joy-Con drift”), replacing the joystick usually fixes it.',
  tools: ['Tri-point Y00 Screwdriver', 'Phillips #00 Screwdriver', 'Spudger', 'Tweezers'],
  parts: ['Joy-Con Joystick'],
  steps: [
    { title: 'Remove the rear screws', lines: ['Remove the four Y00 screws from the back of the Joy-Con.'] },
    { title: 'Open the Joy-Con', lines: ['Gently pry the rear shell open from the rail side.'] },
    {
      title: 'Disconnect the joystick cable',
      lines: ['Flip up the ZIF locking flap and pull the joystick ribbon cable out.'],
    },
    { title: 'Replace the joystick', lines: ['Remove the two Phillips screws and swap the joystick.'] },
  ],
  keywords: ['drift', 'joycon', 'joy-con', 'stick', 'analog', 'controller', 'switch'],
};

/** Default catalogue of the fake iFixit API: distinct devices plus two guides for one device so ranking matters. */
export const defaultIfixitCatalogue: readonly IfixitGuideSeed[] = [
  iphone12Screen,
  iphone12Battery,
  ps5Hdmi,
  macbookBattery,
  joyconJoystick,
];
