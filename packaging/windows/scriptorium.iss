; Inno Setup script: wraps the PyInstaller folder (dist\scriptorium\) into ScriptoriumSetup-<variant>.exe.
; Build: powershell -File packaging\build_windows.ps1 [-Cuda]   (runs PyInstaller, then ISCC on this file)
; Per-user install by default (no administrator rights needed), Start-menu and optional desktop icon,
; an uninstaller that leaves the user's projects (in %APPDATA%\scriptorium) alone.

#ifndef Variant
  #define Variant "cpu"
#endif
#define AppVersion GetEnv("SCRIPTORIUM_VERSION")
#if AppVersion == ""
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6E2B7F0C-3A55-4C1B-9A8E-5C7D2B1F0A11}
AppName=Scriptorium
AppVersion={#AppVersion}
AppPublisher=Scriptorium
DefaultDirName={autopf}\Scriptorium
DefaultGroupName=Scriptorium
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=ScriptoriumSetup-{#AppVersion}-{#Variant}
SetupIconFile=scriptorium.ico
Compression=lzma2/max
SolidCompression=yes
DiskSpanning=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "russian"; MessagesFile: "compiler:Languages\Russian.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "..\..\dist\scriptorium\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Scriptorium"; Filename: "{app}\scriptorium.exe"
Name: "{group}\Scriptorium self-test"; Filename: "{app}\scriptorium.exe"; Parameters: "--selftest"
Name: "{autodesktop}\Scriptorium"; Filename: "{app}\scriptorium.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\scriptorium.exe"; Description: "{cm:LaunchProgram,Scriptorium}"; Flags: nowait postinstall skipifsilent
